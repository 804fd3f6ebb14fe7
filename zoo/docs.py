"""Generates the model catalog (`docs/catalog.md`) and `zoo/cards.json` from the registry.

Example:

    python -m zoo.docs docs/catalog.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from zoo import cards, factory, registry

HEADER = """# Model catalog

Generated from the registry by `make docs` (`python -m zoo.docs docs/catalog.md`);
do not edit by hand. Parameters are trainable parameters at the default arguments.

| name | family | task | parameters | multiply-adds | input | default dataset | recipe | weights |
| --- | --- | --- | ---: | ---: | --- | --- | --- | --- |
"""


def catalog_markdown(names=None) -> str:
    """The catalog table for `names` (default: every registered model).

    Args:
        names: list of str or None. Models to include.

    Example:

    >>> print(catalog_markdown(["resnet20"]))
    """
    registry.load_families()  # the live registry, not the cards generated from it
    rows = []
    for name in names or factory.list_models():
        card = factory.model_info(name)
        spec = card.input_spec
        shape = "x".join(str(d) for d in spec.get("shape", [])) or spec["modality"]
        weights = ", ".join(w["name"] for w in card.weights) or "-"
        macs = f"{card.macs / 1e6:,.1f} M" if card.macs is not None else "-"
        rows.append(
            f"| `{name}` | {card.family} | {card.task} | {card.num_params:,} | {macs} | {shape} "
            f"| {card.default_dataset or '-'} | {card.recipe or '-'} | {weights} |"
        )
    return HEADER + "\n".join(rows) + "\n"


def live_cards() -> dict:
    """Every registered model's card from the live registry (what `cards.json` holds)."""
    registry.load_families()
    return {name: factory.model_info(name).to_dict() for name in factory.list_models()}


def main(argv: list[str] | None = None) -> int:
    """Writes the catalog to the path given (default `docs/catalog.md`) and `cards.json`."""
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0] if argv else "docs/catalog.md")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(catalog_markdown())
    print(f"wrote {path}")
    print(f"wrote {cards.write(live_cards())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
