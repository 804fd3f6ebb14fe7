"""What `zoo.export` returns: per format, the path and how well it matched Keras."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class FormatResult:
    """The verification of one exported artifact.

    Args:
        format: str. `"savedmodel"` or `"onnx"`.
        path: str. Where the artifact is (its final location).
        max_abs_diff: float. Largest |exported - Keras| over all outputs.
        argmax_agreement: float. Share of examples whose top class matches.
        examples: int. How many inputs were compared.
        atol: float. The tolerance the diff was held to.
        seconds: float. Export plus verification time.
        tokens_match: bool or None. Text exports: whether the deployer-side
            tokenizer produced the same ids as the in-graph one.
        cases: tuple of dict. Each shape verified: `name` (`"given"`,
            `"one"`, `"odd"`, `"short"`, `"texts"`, `"one_text"`), `shapes`
            (`{input: [dims]}` fed to the artifact), `max_abs_diff` and
            `argmax_agreement`. `max_abs_diff` and `argmax_agreement` above
            are the worst over these.
        input_shapes: dict or None. Each input's shape as the artifact
            declares it (None for a dynamic axis).
    """

    format: str
    path: str
    max_abs_diff: float
    argmax_agreement: float
    examples: int
    atol: float
    seconds: float
    tokens_match: bool | None = None
    cases: tuple = ()
    input_shapes: dict | None = None

    @property
    def shapes(self) -> list:
        """The input shapes verified, one `{input: [dims]}` per case."""
        return [case["shapes"] for case in self.cases]

    @property
    def worst_case(self) -> dict | None:
        """The case with the lowest argmax agreement, then the largest diff."""
        if not self.cases:
            return None
        return min(self.cases, key=lambda c: (c["argmax_agreement"], -c["max_abs_diff"]))

    @property
    def passed(self) -> bool:
        return (
            self.max_abs_diff <= self.atol
            and self.argmax_agreement == 1.0
            and self.tokens_match is not False
        )

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "passed": self.passed}


@dataclasses.dataclass(frozen=True)
class ExportReport:
    """All formats of one export.

    Args:
        model: str. The model name.
        out_dir: str. The export directory.
        formats: tuple of FormatResult.
        inputs: str. `"given"` (the caller's examples) or `"random"` (a
            deterministic random batch: proves the runtimes agree, not that
            they agree on real data).

    Example:

    >>> report = zoo.export(model, "out/r20")
    >>> report.passed, report["onnx"].max_abs_diff
    (True, 3.1e-07)
    """

    model: str
    out_dir: str
    formats: tuple
    inputs: str = "given"

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.formats)

    def __getitem__(self, name: str) -> FormatResult:
        for result in self.formats:
            if result.format == name:
                return result
        raise KeyError(f"No {name!r} in this export; it has {[r.format for r in self.formats]}.")

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "out_dir": self.out_dir,
            "passed": self.passed,
            "inputs": self.inputs,
            "formats": [result.to_dict() for result in self.formats],
        }

    def __str__(self) -> str:
        lines = [
            f"export of {self.model} -> {self.out_dir}",
            f"  {'format':<11}{'max |diff|':>12}{'argmax':>9}{'examples':>10}  result  path",
        ]
        for r in self.formats:
            lines.append(
                f"  {r.format:<11}{r.max_abs_diff:>12.2e}{r.argmax_agreement:>9.1%}"
                f"{r.examples:>10}  {'PASS' if r.passed else 'FAIL':<6}  {r.path}"
                + (
                    ""
                    if r.tokens_match is None
                    else f"  (tokenizer.json ids {'match' if r.tokens_match else 'DIFFER'})"
                )
            )
            if r.cases:
                lines.append(f"  {'':<11}shapes: {shapes_text(r.shapes)}")
        lines.append(
            f"  verified in separate processes (no zoo import); pass at max |diff| "
            f"<= {self.formats[0].atol:g} and 100% argmax agreement"
            if self.formats
            else "  no formats"
        )
        if self.inputs == "random":
            lines.append(
                "  on a random batch: pass inputs= (real examples) for a check on real data"
            )
        return "\n".join(lines)


def shapes_text(shapes: list) -> str:
    """`images 8x8x8x1, 1x8x8x1; ...`: shapes of cases, grouped by input names.

    Args:
        shapes: list of dict. `{input: [dims]}` per case (inputs of one case
            share their shape: the first one's is shown).

    Example:

    >>> shapes_text([{"texts": [8]}, {"texts": [1]}, {"token_ids": [7, 16]}])
    'texts 8, 1; token_ids 7x16'
    """
    groups = []
    for case in shapes:
        label = "/".join(case)
        dims = "x".join(str(d) for d in next(iter(case.values())))
        if groups and groups[-1][0] == label:
            groups[-1][1].append(dims)
        else:
            groups.append((label, [dims]))
    return "; ".join(f"{label} {', '.join(dims)}" for label, dims in groups)
