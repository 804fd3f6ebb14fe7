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
        quantization: str or None. Quantized formats: `"static"` (QDQ,
            calibrated) or `"dynamic"`. Their max |diff| and argmax figures
            are reported but not held to `atol`: the accuracy gate decides.
        accuracy: float or None. Quantized formats: accuracy on the
            labelled validation examples, run in the artifact's runtime.
        reference_accuracy: float or None. The float artifact's accuracy on
            the same examples, in the same runtime.
        max_accuracy_drop: float or None. Largest accepted
            `reference_accuracy - accuracy` (0.01: one point).
        accuracy_examples: int or None. Labelled examples of the gate.
        latency_ms: dict or None. `{batch: median ms}` of the quantized
            artifact during the gate (batch 1 and `verify.GATE_BATCH`).
        reference_latency_ms: dict or None. The same for the float artifact.
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
    quantization: str | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    max_accuracy_drop: float | None = None
    accuracy_examples: int | None = None
    latency_ms: dict | None = None
    reference_latency_ms: dict | None = None

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
    def accuracy_drop(self) -> float | None:
        """`reference_accuracy - accuracy` for a quantized format, else None."""
        if self.accuracy is None or self.reference_accuracy is None:
            return None
        return self.reference_accuracy - self.accuracy

    @property
    def passed(self) -> bool:
        if self.quantization is not None:  # the accuracy gate, not |diff|
            return (
                self.accuracy_drop is not None
                # a float epsilon: a drop of exactly one point passes a 0.01 gate
                and self.accuracy_drop <= self.max_accuracy_drop + 1e-9
                and self.tokens_match is not False
            )
        return (
            self.max_abs_diff <= self.atol
            and self.argmax_agreement == 1.0
            and self.tokens_match is not False
        )

    def gate_text(self) -> str:
        """One line on the accuracy gate and latency of a quantized format."""
        latency = ", ".join(
            f"b{b} {self.latency_ms[b]:.2f} ms vs {self.reference_latency_ms[b]:.2f} ms "
            f"({self.reference_latency_ms[b] / self.latency_ms[b]:.2f}x)"
            for b in self.latency_ms
        )
        return (
            f"{self.quantization} int8: accuracy {self.accuracy:.4f} vs float "
            f"{self.reference_accuracy:.4f} on {self.accuracy_examples} validation examples "
            f"(drop {self.accuracy_drop * 100:.2f} points, accepted <= "
            f"{self.max_accuracy_drop * 100:g}); onnxruntime latency int8 vs float: {latency}"
        )

    def to_dict(self) -> dict:
        return {
            **dataclasses.asdict(self),
            "accuracy_drop": self.accuracy_drop,
            "passed": self.passed,
        }


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
            if r.quantization is not None:
                lines.append(f"  {'':<11}{r.gate_text()}")
        lines.append(
            f"  verified in separate processes (no zoo import); pass at max |diff| "
            f"<= {self.formats[0].atol:g} and 100% argmax agreement"
            + (
                "; quantized formats pass the accuracy gate instead"
                if any(r.quantization for r in self.formats)
                else ""
            )
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
