"""The code in README.md and docs/*.md says what the package does.

A user copies these lines first, so each one is checked against the code
without running it (the snippets train for minutes and download data):

- every `zoo ...` command line in a code block parses with the CLI's own
  parser, and its model, dataset, `--set` keys and weights names exist;
- every Python block, and every `Example:` in the package's docstrings,
  compiles; each `zoo.a.b` it names and each
  `from zoo.x import y` resolves; literal model, recipe and dataset names
  exist; `zoo.get_model` keywords are ones the model accepts; keywords of
  other zoo functions are in their signatures. Calls under `try:` show an
  error on purpose and are not checked.
"""

import ast
import importlib
import inspect
import pkgutil
import re
import shlex
from pathlib import Path

import pytest

import zoo
from zoo import cli, pretrained, registry

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
SHELL = ("", "bash", "sh", "console", "shell")
ENV_SETTING = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def blocks(kinds):
    """(file name, first line, code) of each fenced block of one of `kinds`."""
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            if match.group(1) in kinds:
                line = text.count("\n", 0, match.start()) + 2
                yield f"{doc.name}:{line}", match.group(2)


def command_lines():
    """Each `zoo ...` command of the shell blocks, continuations joined."""
    for where, code in blocks(SHELL):
        for line in code.replace("\\\n", " ").splitlines():
            words = shlex.split(line.strip().removeprefix("$ "), comments=True)
            while words and ENV_SETTING.match(words[0]):
                words = words[1:]  # TF_CONFIG=... zoo train ...
            if words[:1] == ["zoo"]:
                yield pytest.param(words[1:], id=f"{where} {' '.join(words[1:3])}")


def python_blocks():
    for where, code in blocks(("python",)):
        yield pytest.param(code, id=where)


def test_the_docs_hold_commands_and_python_to_check():
    assert len(list(command_lines())) >= 15
    assert len(list(python_blocks())) >= 8


def known_weights(model, name):
    """`name` is a weights tag of `model`, an `arch.tag` name, or a path."""
    if "/" in name:
        return True  # a user's folder or file
    if pretrained.lookup(model, name) is not None:
        return True
    arch, _, tag = name.partition(".")
    return arch in registry.list_models() and pretrained.lookup(arch, tag) is not None


def check_model_and_overrides(model, overrides):
    assert model in registry.list_models(), f"unknown model {model!r}"
    registry.get_spec(model).resolve_kwargs(overrides)  # raises on an unknown key


@pytest.mark.parametrize("argv", command_lines())
def test_documented_command_parses_and_names_what_exists(argv):
    try:
        args = cli._parser().parse_args(argv)
    except SystemExit as exit:
        pytest.fail(f"`zoo {' '.join(argv)}` does not parse (exit {exit.code})")
    command = argv[0]
    if command in ("info", "bench", "train", "pretrain"):
        overrides = cli._parse_overrides(getattr(args, "set", None))
        check_model_and_overrides(args.name, overrides)
    if command == "train":
        assert args.dataset in zoo.list_datasets() or "/" in args.dataset, args.dataset
        if args.weights:
            assert known_weights(args.name, args.weights), args.weights
        if args.teacher and "/" not in args.teacher:
            assert known_weights(args.name, args.teacher), args.teacher


def named_object(node, scope):
    """The object a `zoo.a.b` (or `name.a` of `scope`) expression names, or None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not (isinstance(node, ast.Name) and node.id in scope):
        return None
    found = scope[node.id]
    for part in reversed(parts):
        assert hasattr(found, part), f"no {'.'.join([node.id, *reversed(parts)])}"
        found = getattr(found, part)
    return found


def literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def check_call(call, function):
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    first = literal(call.args[0]) if call.args else None
    if function is zoo.get_model:
        overrides = {k: v for k, v in keywords.items() if k != "weights"}
        check_model_and_overrides(first, {k: literal(v) for k, v in overrides.items()})
        weights = literal(keywords["weights"]) if "weights" in keywords else None
        if isinstance(weights, str):
            assert known_weights(first, weights), (first, weights)
        return
    if function is zoo.get_recipe:
        zoo.get_recipe(first)  # raises on an unknown name
    elif function is zoo.model_info:
        assert first in registry.list_models(), first
    elif function is zoo.get_dataset and isinstance(first, str):
        assert first in zoo.list_datasets() or "/" in first, first
    params = inspect.signature(function).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        names = {p.name for p in params}
        assert set(keywords) <= names, f"{function.__qualname__} takes no {set(keywords) - names}"


def check_python(code, module=None):
    """Checks the zoo names of `code`; a docstring's `module` lends its own names."""
    tree = ast.parse(code)  # a SyntaxError fails the test with its line
    on_purpose = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) for n in ast.walk(t)}
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }
    bound |= {
        (a.asname or a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    scope = {
        k: v for k, v in vars(module or zoo).items() if k not in bound and not k.startswith("__")
    }
    scope["zoo"] = zoo
    for node in ast.walk(tree):
        if id(node) in on_purpose:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("zoo"):
            module = __import__(node.module, fromlist=["_"])
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Attribute):
            named_object(node, scope)
        if isinstance(node, ast.Call):
            function = named_object(node.func, scope)
            if callable(function) and not inspect.isclass(function):
                check_call(node, function)


@pytest.mark.parametrize("code", python_blocks())
def test_documented_python_names_what_exists(code):
    check_python(code)


def docstring_examples():
    """(where, module, code) of each `>>>` example in the package's docstrings."""
    for info in pkgutil.walk_packages(zoo.__path__, "zoo."):
        if info.name.rpartition(".")[2].startswith("_"):
            continue  # __main__ and the verification runner scripts
        module = importlib.import_module(info.name)
        owned = [m for _, m in inspect.getmembers(module) if inspect.getmodule(m) is module]
        methods = [m for c in owned if inspect.isclass(c) for m in vars(c).values()]
        for thing in [module, *owned, *methods]:
            lines = (inspect.getdoc(thing) or "").splitlines()
            code = [line.strip()[4:] for line in lines if line.strip()[:4] in (">>> ", "... ")]
            if code:
                where = f"{info.name}:{getattr(thing, '__qualname__', '')}"
                yield where, module, "\n".join(code)


def test_docstring_examples_name_what_exists():
    examples = {where: (module, code) for where, module, code in docstring_examples()}
    assert len(examples) >= 150  # the package documents its API by example
    failures = []
    for where, (module, code) in examples.items():
        try:
            check_python(code, module)
        except Exception as error:  # noqa: BLE001  (every failure is listed)
            failures.append(f"{where}: {type(error).__name__}: {error}")
    assert not failures, "\n".join(failures)
