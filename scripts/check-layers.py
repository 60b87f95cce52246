#!/usr/bin/env python3
"""One-way layering of `src/`: every module imports only from its own layer or below.

The map (LAYERS, lowest first) assigns each module of the crate to a layer; a module
not named takes the layer of its nearest named parent, and a module under no entry at
all is an error (a new top-level module must be placed). The check reads every Rust
file under src/ and resolves each path that names a module of this crate:

- `use crate::…` lines, grouped ones included (`use crate::{a, b::{c, d}}`), and
  `use super::…` / `use self::…` / `use child::…` (a `mod child;` of the same file);
- `crate::x::y` written inline in code (`crate::web::client_ip(&req)`): an inline path
  is an import too;
- `crate::some_macro!` resolves to the file whose `#[macro_export]` defines it.

Comments and string literals are skipped. An import from a higher layer fails the
check with file:line and both layers. Inside one layer, modules may import each other,
but a cycle between two of its units (a unit is a module's first two path segments,
`services::apps`) must be named in ALLOWED_CYCLES, so a new one is a decision, not an
accident.

Usage: scripts/check-layers.py [SRC_DIR]      (default: src/ beside this script)
       scripts/check-layers.py --self-test     (proves the check fails when it should)
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass

# (layer, modules) lowest first. A module path names itself and everything below it;
# the longest matching entry wins (`auth::policy` before `auth`).
LAYERS: list[tuple[str, list[str]]] = [
    # Pure building blocks: no database, no HTTP state. Configuration sits here so that
    # everything above can be handed its own settings.
    (
        "foundation",
        [
            "error",
            "clock",
            "crypto",
            "validate",
            "credentials",
            "config",
            "telemetry",
            "wording",
            "when",
            "markdown",
            "openapi",
            "public_keys",
            "signing",
        ],
    ),
    # The connection, pool, schema and the one backend-specific module.
    ("db", ["db"]),
    # Rows and queries, one module a table or a read model.
    ("models", ["models"]),
    # Who may do what (roles, permissions), password hashing and the sign-in throttle:
    # decisions over models, no side effects beyond their own memory.
    ("policy", ["auth::policy", "auth::password", "auth::throttle"]),
    # Use cases (services), the mail transport and outbox sender (mail), machine
    # verification of credentials (verify), and the background workers (jobs), which
    # take the pool, clock and mailer they need rather than the app state.
    ("services", ["services", "mail", "verify", "jobs", "demo"]),
    # The state every worker and handler shares.
    ("state", ["state"]),
    # Request plumbing: extractors, CSRF, API authentication, responses, middleware,
    # the method guards (405 with Allow, HEAD as GET).
    ("plumbing", ["auth", "web", "middleware", "methods"]),
    ("handlers", ["handlers"]),
    ("routes", ["routes"]),
    ("startup", ["startup"]),
    ("cli", ["cli", "main"]),
]

# Cycles allowed inside one layer, each a set of units (module paths of at most two
# segments) that import each other.
ALLOWED_CYCLES: list[set[str]] = [
    # Creating or renewing an app subscribes it to products, and a subscription's
    # lifetime follows its app's (the cap, the owner-left reason).
    {"services::apps", "services::subscriptions"},
]


# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    file: str  # path relative to the source root
    line: int
    target: tuple[str, ...]  # absolute module path inside the crate, without `crate`


def layer_index() -> dict[str, int]:
    index: dict[str, int] = {}
    for rank, (_, modules) in enumerate(LAYERS):
        for module in modules:
            if module in index:
                raise SystemExit(f"layer map: {module} is placed twice")
            index[module] = rank
    return index


def layer_of(path: tuple[str, ...], index: dict[str, int]) -> int | None:
    for end in range(len(path), 0, -1):
        rank = index.get("::".join(path[:end]))
        if rank is not None:
            return rank
    return None


def module_path(rel: str) -> tuple[str, ...]:
    """`services/apps/mod.rs` -> (services, apps); `lib.rs` -> ()."""
    parts = rel[: -len(".rs")].split(os.sep)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def blank_comments_and_strings(text: str) -> str:
    """The code with comments and literals replaced by spaces (newlines kept)."""
    out: list[str] = []
    i, n = 0, len(text)

    def blank(segment: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in segment)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(blank(text[i:end]))
            i = end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            close = '"' + m.group(1)
            end = text.find(close, m.end())
            end = n if end < 0 else end + len(close)
            out.append(blank(text[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            m = re.compile(r"'(\\.[^']*|[^\\'])'").match(text, i)
            if m:
                out.append(blank(m.group(0)))
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use_tree(tree: str) -> list[list[str]]:
    """`a::{b, c::{d, self}}` -> [[a, b], [a, c, d], [a, c]] (`as` renames dropped)."""
    tree = re.sub(r"\s+", "", re.sub(r"\bas\s+\w+", "", tree))
    paths: list[list[str]] = []

    def walk(s: str, prefix: list[str]) -> None:
        for part in split_top(s):
            if not part:
                continue
            if "{" in part:
                head, inner = part.split("{", 1)
                inner = inner[: inner.rfind("}")]
                walk(inner, prefix + [seg for seg in head.split("::") if seg])
            else:
                segs = [seg for seg in part.split("::") if seg and seg != "*"]
                if segs and segs[-1] == "self":
                    segs = segs[:-1]
                paths.append(prefix + segs)

    walk(tree, [])
    return paths


def split_top(s: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(s):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(s[start:k])
            start = k + 1
    parts.append(s[start:])
    return parts


USE = re.compile(r"\buse\s+((?:crate|super|self|\w+)\s*::[^;]*);")
INLINE = re.compile(r"(?<![\w$:])crate((?:\s*::\s*\w+)+)(\s*!)?")
CHILD_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)
INLINE_MOD = re.compile(r"\bmod\s+(\w+)\s*\{")
MACRO = re.compile(r"#\[macro_export\]\s*macro_rules!\s*(\w+)")


def inline_modules(code: str) -> list[tuple[str, int, int]]:
    """Each `mod name { .. }` of a file: its name and the span of its body."""
    found = []
    for m in INLINE_MOD.finditer(code):
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        found.append((m.group(1), m.end(), j))
    return found


def resolve(first: str, rest: list[str], here: tuple[str, ...],
            children: set[str]) -> tuple[str, ...] | None:
    # The module a relative path starts from: a file `a/b.rs` is module a::b; its
    # `super` is a; a `mod.rs` is the module of its folder.
    if first == "crate":
        return tuple(rest)
    if first == "self":
        return here + tuple(rest)
    if first == "super":
        base = list(here)
        segs = ["super"] + rest
        while segs and segs[0] == "super":
            base = base[:-1]
            segs = segs[1:]
        return tuple(base) + tuple(segs)
    if first in children:
        return here + (first,) + tuple(rest)
    return None  # an external crate or a local name


def read_imports(root: str) -> tuple[list[Import], dict[str, tuple[str, ...]], list[str]]:
    imports: list[Import] = []
    macros: dict[str, tuple[str, ...]] = {}
    files: list[str] = []
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(".rs"):
                files.append(os.path.relpath(os.path.join(dirpath, name), root))
    files.sort()
    for rel in files:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        for m in MACRO.finditer(text):
            macros[m.group(1)] = module_path(rel)
        code = blank_comments_and_strings(text)
        here = module_path(rel)
        if os.path.basename(rel) == "main.rs":
            here = ("main",)
        children = set(CHILD_MOD.findall(code))
        inline = inline_modules(code)
        in_use: list[tuple[int, int]] = []
        for m in USE.finditer(code):
            in_use.append((m.start(), m.end()))
            line = code.count("\n", 0, m.start()) + 1
            # `use super::*` inside `mod tests { .. }` starts from the inline module.
            scope = here + tuple(name for name, a, b in inline if a <= m.start() < b)
            for segs in expand_use_tree(m.group(1)):
                if not segs:
                    continue
                target = resolve(segs[0], segs[1:], scope, children)
                if target is not None:
                    imports.append(Import(rel, line, target))
        for m in INLINE.finditer(code):
            if any(a <= m.start() < b for a, b in in_use):
                continue
            segs = [s.strip() for s in m.group(1).split("::") if s.strip()]
            if m.group(2):  # crate::name! is a macro exported at the crate root
                segs = ["!" + segs[-1]]
            line = code.count("\n", 0, m.start()) + 1
            imports.append(Import(rel, line, tuple(segs)))
    return imports, macros, files


def unit(path: tuple[str, ...], modules: set[tuple[str, ...]]) -> str:
    """The module path, cut to two segments, of a file or an imported item
    (`crate::auth::OrgScope` is in unit `auth`, `crate::services::apps::x` in `services::apps`)."""
    end = 2 if path[:2] in modules else 1
    return "::".join(path[:end])


def nested(a: str, b: str) -> bool:
    """The same unit, or a module and its own parent (a folder's mod.rs and its files)."""
    return a == b or a.startswith(b + "::") or b.startswith(a + "::")


def check(root: str) -> list[str]:
    index = layer_index()
    names = [name for name, _ in LAYERS]
    imports, macros, files = read_imports(root)
    problems: list[str] = []
    for rel in files:
        here = ("main",) if os.path.basename(rel) == "main.rs" else module_path(rel)
        if here and layer_of(here, index) is None:
            problems.append(f"{rel}: module {'::'.join(here)} is in no layer of the map")
    modules = {module_path(rel) for rel in files}
    edges: dict[str, set[str]] = {}
    for imp in imports:
        here = ("main",) if os.path.basename(imp.file) == "main.rs" else module_path(imp.file)
        target = imp.target
        if target and target[0].startswith("!"):
            target = macros.get(target[0][1:], ())
        elif len(target) == 1 and target[0] in macros and layer_of(target, index) is None:
            target = macros[target[0]]  # `use crate::some_macro;`
        if not here or not target:
            continue  # lib.rs declares the modules; a path to the crate root names no layer
        mine, theirs = layer_of(here, index), layer_of(target, index)
        if mine is None or theirs is None:
            if theirs is None:
                problems.append(
                    f"{imp.file}:{imp.line}: crate::{'::'.join(target)} is in no layer of the map"
                )
            continue
        if theirs > mine:
            problems.append(
                f"{imp.file}:{imp.line}: {names[mine]} imports {names[theirs]} "
                f"(crate::{'::'.join(target)}); a module imports only its own layer or below"
            )
        elif theirs == mine and not nested(unit(here, modules), unit(target, modules)):
            edges.setdefault(unit(here, modules), set()).add(unit(target, modules))
    for cycle in cycles(edges):
        if not any(cycle <= allowed for allowed in ALLOWED_CYCLES):
            problems.append(
                "import cycle inside one layer, not named in ALLOWED_CYCLES: "
                + " <-> ".join(sorted(cycle))
            )
    return problems


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


# --------------------------------------------------------------------------------------


def self_test() -> int:
    """Runs the check over small trees: clean ones pass, each violation is reported."""
    cases: list[tuple[str, dict[str, str], list[str]]] = [
        (
            "downward imports pass",
            {
                "lib.rs": "pub mod db; pub mod error; pub mod models; pub mod handlers;",
                "error.rs": "pub struct AppError;",
                "db/mod.rs": "use crate::error::AppError;\n",
                "models/mod.rs": "use crate::{db, error::{self, AppError}};\n",
                "handlers/mod.rs": (
                    "// crate::startup in a comment is no import\n"
                    'const S: &str = "crate::startup::x";\n'
                    "fn f() { crate::models::g(); let c = '\"'; }\n"
                ),
            },
            [],
        ),
        (
            "a use line against the map",
            {"models/mod.rs": "use crate::error::AppError;\nuse crate::handlers::x;\n"},
            ["models/mod.rs:2: models imports handlers (crate::handlers::x)"],
        ),
        (
            "a grouped import against the map",
            {"db/mod.rs": "use crate::{\n    error::AppError,\n    state::{AppState, x},\n};\n"},
            ["db/mod.rs:1: db imports state (crate::state::AppState)",
             "db/mod.rs:1: db imports state (crate::state::x)"],
        ),
        (
            "an inline path against the map",
            {"services/mod.rs": "fn f() {\n    let ip = crate::web::client_ip(req);\n}\n"},
            ["services/mod.rs:2: services imports plumbing (crate::web::client_ip)"],
        ),
        (
            "super:: climbing into a higher layer's module",
            {"auth/policy.rs": "use super::csrf::Token;\n"},
            ["auth/policy.rs:1: policy imports plumbing (crate::auth::csrf::Token)"],
        ),
        (
            "an exported macro resolves to its defining module",
            {
                "handlers/mod.rs": "#[macro_export]\nmacro_rules! api_list { () => {} }\n",
                "services/mod.rs": "use crate::api_list;\n",
            },
            ["services/mod.rs:1: services imports handlers (crate::handlers)"],
        ),
        (
            "a module placed in no layer",
            {"stray.rs": "use crate::error::AppError;\n"},
            ["stray.rs: module stray is in no layer of the map"],
        ),
        (
            "an unnamed cycle inside one layer",
            {
                "services/a.rs": "use crate::services::b::x;\n",
                "services/b.rs": "use crate::services::a::y;\n",
            },
            ["import cycle inside one layer, not named in ALLOWED_CYCLES: services::a <-> services::b"],
        ),
        (
            "a cycle through items of two top-level modules",
            {
                "auth/mod.rs": "pub struct Scope;\nfn f() { crate::web::client_ip(); }\n",
                "web.rs": "use crate::auth::Scope;\npub fn client_ip() {}\n",
            },
            ["import cycle inside one layer, not named in ALLOWED_CYCLES: auth <-> web"],
        ),
    ]
    failures = 0
    for title, tree, expected in cases:
        with tempfile.TemporaryDirectory() as root:
            for rel, body in tree.items():
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(body)
            got = check(root)
        got_short = [p.split("; a module")[0] for p in got]
        if got_short != expected:
            failures += 1
            print(f"self-test FAILED: {title}\n  expected {expected}\n  got      {got_short}")
    print(f"self-test: {len(cases) - failures} of {len(cases)} cases as expected")
    return 1 if failures else 0


def main() -> int:
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"layering: {len(problems)} problem(s) against the map in scripts/check-layers.py")
        return 1
    print("layering: every import follows the map")
    return 0


if __name__ == "__main__":
    sys.exit(main())
