//! The module map in ARCHITECTURE.md ("Code map") holds: every `crate::`
//! reference between top-level modules of `src/` is one the table's "may
//! use" column allows, every module is in the table, and neither the
//! top-level modules nor the submodules of `plan/` form a cycle. The
//! sources are parsed with `syn`, from `src/lib.rs` down its `mod`
//! declarations: use trees, paths in code, and `crate::`/`super::` paths
//! inside macro invocations. Doc comments are not references, and test code
//! (`#[cfg(test)]`) is not held to the map. No Docker needed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

#[test]
fn code_map_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let problems = check(root, &map);
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's code map does not hold ({} problem(s)):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The checker itself finds a forbidden edge (with its file and line), a
/// module missing from the table, a cycle, a `super::` chain that leaves
/// its top-level module, a `crate::` path inside a macro, and a cycle
/// inside `plan/`; test code is not held to the map.
#[test]
fn code_map_check_finds_bad_edges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write(
        "src/lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\npub mod plan;\npub mod z;\n",
    );
    write(
        "src/a.rs",
        "//! a\n\nuse crate::b::B;\n\n#[cfg(test)]\nmod tests {\n    use crate::z::Z;\n}\n",
    );
    write(
        "src/b.rs",
        "//! b\npub struct B;\nfn f() { let _ = crate::a::f(); }\nmod inner {\n    use super::B;\n    fn g() { println!(\"{:?}\", crate::plan::model::M); }\n}\n",
    );
    write("src/c.rs", "//! c\n");
    write(
        "src/plan/mod.rs",
        "//! plan\nmod journal;\nmod model;\nmod swarm;\n#[cfg(test)]\nmod tests;\npub use model::M;\npub fn plan() { swarm::plan() }\n",
    );
    write(
        "src/plan/model.rs",
        "//! model\n#[derive(Debug)]\npub struct M(super::journal::R);\n",
    );
    write(
        "src/plan/journal.rs",
        "//! journal\n#[derive(Debug)]\npub struct R;\nfn f(_: super::model::M) {}\nfn g(_: super::super::z::Z) {}\n",
    );
    write("src/plan/tests.rs", "use crate::z::Z;\n");
    write(
        "src/plan/swarm.rs",
        "//! swarm\npub(super) fn plan() {}\nfn f() { let _ = super::M; }\n",
    );
    write("src/z.rs", "//! z\npub struct Z;\n");
    let map = "## Code map\n\n\
        | module | job | may use |\n\
        |---|---|---|\n\
        | `a` | an a | — |\n\
        | `b` | a b | `a` |\n\
        | `plan` | the planner | `a`, `b` (types only) |\n\
        | `z` | last | everything above |\n";
    let problems = check(dir.path(), map).join("\n");
    for expected in [
        "src/a.rs:3: a uses b (crate::b::B)",
        "module c is not in ARCHITECTURE.md's code map",
        "src/b.rs:6: b uses plan (crate::plan::model::M)",
        "cycle between top-level modules: a -> b -> a",
        "src/plan/journal.rs:5: plan uses z (super::super::z::Z)",
        "cycle inside plan/: journal -> model -> journal",
        "src/plan/model.rs:3: model uses journal",
        "src/plan/journal.rs:4: journal uses model",
        "cycle inside plan/: plan -> swarm -> plan",
        "src/plan/mod.rs:8: plan uses swarm (swarm::plan)",
        "src/plan/swarm.rs:3: swarm uses plan (super::M)",
    ] {
        assert!(
            problems.contains(expected),
            "expected `{expected}` among:\n{problems}"
        );
    }
    for allowed in ["b uses a (crate::a::f), which", "uses z (crate::z::Z)"] {
        assert!(
            !problems.contains(allowed),
            "`{allowed}` is allowed (b may use a; tests may use anything):\n{problems}"
        );
    }
}

/// Every problem with the code map of the crate at `root`, as
/// `file:line: …` where a reference is at fault.
fn check(root: &Path, map: &str) -> Vec<String> {
    let table = match code_map(map) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let tree = walk(root);
    let modules = tree.children(&[]);
    let mut problems = table_problems(&table, &modules);
    // Between top-level modules.
    let mut top: Edges = BTreeMap::new();
    for r in &tree.references {
        let (Some(from), Some(to)) = (r.from.first(), r.to.first()) else {
            continue;
        };
        if from == to || !modules.contains(to.as_str()) {
            continue;
        }
        top.entry(from).or_default().entry(to).or_default().push(r);
        if let Some(row) = table.get(from)
            && !row.contains(to)
        {
            let may: Vec<&str> = row.iter().map(String::as_str).collect();
            let may = if may.is_empty() {
                "nothing".to_string()
            } else {
                may.join(", ")
            };
            problems.push(format!(
                "{}: {from} uses {to} ({}), which ARCHITECTURE.md's code map does not allow ({from} may use: {may})",
                r.at(),
                r.written,
            ));
        }
    }
    problems.extend(cycle_problems("between top-level modules", &top));
    // Inside plan/: between its submodules, and `plan` (plan/mod.rs itself).
    let children = tree.children(&["plan"]);
    let part = |path: &[String]| -> Option<String> {
        match path {
            [p, c, ..] if p == "plan" && children.contains(c.as_str()) => Some(c.clone()),
            [p, ..] if p == "plan" => Some("plan".to_string()),
            _ => None,
        }
    };
    let inside: Vec<(String, String, &Reference)> = tree
        .references
        .iter()
        .filter_map(|r| Some((part(&r.from)?, part(&r.to)?, r)))
        .filter(|(from, to, _)| from != to)
        .collect();
    let mut plan: Edges = BTreeMap::new();
    for (from, to, r) in &inside {
        plan.entry(from).or_default().entry(to).or_default().push(r);
    }
    problems.extend(cycle_problems("inside plan/", &plan));
    problems
}

/// Module -> module -> the references that make the edge.
type Edges<'a> = BTreeMap<&'a str, BTreeMap<&'a str, Vec<&'a Reference>>>;

/// The code map: each module and the modules it may use.
type Table = BTreeMap<String, BTreeSet<String>>;

/// The table against the modules `src/lib.rs` declares: a row for each,
/// no row for anything else, "may use" naming rows, no cycle allowed.
fn table_problems(table: &Table, modules: &BTreeSet<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    for m in modules.iter().filter(|m| !table.contains_key(**m)) {
        problems.push(format!(
            "module {m} is not in ARCHITECTURE.md's code map: add a row (`{m}`, its job, the modules it may use)"
        ));
    }
    for (m, may_use) in table {
        if !modules.contains(m.as_str()) {
            problems.push(format!(
                "ARCHITECTURE.md's code map lists `{m}`, which src/lib.rs does not declare"
            ));
        }
        for used in may_use.iter().filter(|u| !table.contains_key(*u)) {
            problems.push(format!(
                "ARCHITECTURE.md's code map: `{m}` may use `{used}`, which is no row of the table"
            ));
        }
    }
    let allowed: BTreeMap<&str, BTreeSet<&str>> = table
        .iter()
        .map(|(m, row)| (m.as_str(), row.iter().map(String::as_str).collect()))
        .collect();
    for cycle in cycles(&allowed) {
        problems.push(format!(
            "ARCHITECTURE.md's code map allows a cycle: {}",
            cycle.join(" -> ")
        ));
    }
    problems
}

/// The "Code map" table: `| module | job | may use |`, one row per
/// top-level module; "may use" holds backticked module names, `—` for
/// none, or "everything above" (every module in the rows above).
fn code_map(text: &str) -> Result<Table, String> {
    let cells = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_string()).collect()
    };
    let backticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut lines = text
        .lines()
        .skip_while(|l| l.trim() != "## Code map")
        .skip_while(|l| cells(l) != ["module", "job", "may use"]);
    if lines.next().is_none() {
        return Err(
            "ARCHITECTURE.md has no code map (a `## Code map` section with a `| module | job | may use |` table)"
                .to_string(),
        );
    }
    lines.next(); // |---|---|---|
    let mut table = Table::new();
    let mut above: Vec<String> = Vec::new();
    for line in lines.take_while(|l| l.trim_start().starts_with('|')) {
        let c = cells(line);
        let (Some(first), Some(last)) = (c.first(), c.last()) else {
            continue;
        };
        let [module] = backticked(first).try_into().map_err(|_| {
            format!("ARCHITECTURE.md's code map: a row's first cell is not one `module`: {line}")
        })?;
        let mut may_use: BTreeSet<String> = backticked(last).into_iter().collect();
        if last.contains("everything above") {
            may_use.extend(above.iter().cloned());
        } else if may_use.is_empty() && !matches!(last.as_str(), "—" | "-" | "") {
            return Err(format!(
                "ARCHITECTURE.md's code map: `{module}`'s \"may use\" names no `module` (write `—` for none): {line}"
            ));
        }
        above.push(module.clone());
        table.insert(module, may_use);
    }
    Ok(table)
}

/// The library's modules and references, from `src/lib.rs` down its `mod`
/// declarations.
struct Crate {
    /// Every module, from the crate root (`["plan", "attach"]`).
    modules: BTreeSet<Vec<String>>,
    references: Vec<Reference>,
}

impl Crate {
    /// The names of the modules directly inside `parent`.
    fn children(&self, parent: &[&str]) -> BTreeSet<&str> {
        self.modules
            .iter()
            .filter(|m| m.len() == parent.len() + 1 && m.iter().zip(parent).all(|(a, b)| a == b))
            .map(|m| m[parent.len()].as_str())
            .collect()
    }
}

/// A path naming something elsewhere in the crate.
struct Reference {
    /// The file it is in, from the crate root.
    file: PathBuf,
    line: usize,
    /// The module it is written in, from the crate root (`["plan", "attach"]`).
    from: Vec<String>,
    /// What it names, from the crate root (`["config", "Config"]`).
    to: Vec<String>,
    /// As written (`super::model::Change`).
    written: String,
}

impl Reference {
    fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// Reads the library at `root`, from `src/lib.rs` down.
fn walk(root: &Path) -> Crate {
    let mut v = Visitor {
        root: root.to_path_buf(),
        file: PathBuf::new(),
        module: Vec::new(),
        dir: root.join("src"),
        children: BTreeSet::new(),
        out: Crate {
            modules: BTreeSet::new(),
            references: Vec::new(),
        },
    };
    v.read(&root.join("src/lib.rs"));
    v.out
}

struct Visitor {
    root: PathBuf,
    /// The file being read, from `root`.
    file: PathBuf,
    /// The module being visited, from the crate root.
    module: Vec<String>,
    /// Where the files of its `mod x;` declarations are.
    dir: PathBuf,
    /// The modules it declares: a path may start with one (`attach::plan`).
    children: BTreeSet<String>,
    out: Crate,
}

impl Visitor {
    /// Parses and visits one file of the module tree.
    fn read(&mut self, path: &Path) {
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.strip_prefix(&self.root).unwrap_or(path).to_path_buf();
        let outer = std::mem::replace(&mut self.file, file);
        self.in_module(&ast.items, |v| v.visit_file(&ast));
        self.file = outer;
    }

    /// Visits a module whose items are `items`, knowing its child modules.
    fn in_module(&mut self, items: &[syn::Item], visit: impl FnOnce(&mut Self)) {
        let children = items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Mod(m) => Some(m.ident.to_string()),
                _ => None,
            })
            .collect();
        let outer = std::mem::replace(&mut self.children, children);
        visit(self);
        self.children = outer;
    }

    fn record(&mut self, segments: &[String], line: usize) {
        let to = match segments {
            [child, _, ..] if self.children.contains(child) => {
                Some([&self.module[..], segments].concat())
            }
            _ => resolve(&self.module, segments),
        };
        let Some(to) = to else {
            return;
        };
        if to.is_empty() {
            return; // `use crate::{self}`
        }
        self.out.references.push(Reference {
            file: self.file.clone(),
            line,
            from: self.module.clone(),
            to,
            written: segments.join("::"),
        });
    }

    /// `crate::a::b` (and `super::`, `self::`) paths among a macro's tokens.
    fn scan(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => {
                    self.scan(g.stream());
                    i += 1;
                }
                TokenTree::Ident(id) if ["crate", "super", "self"].contains(&&*id.to_string()) => {
                    let line = id.span().start().line;
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(n)),
                    ) = (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        segments.push(n.to_string());
                        j += 3;
                    }
                    if segments.len() > 1 {
                        self.record(&segments, line);
                    }
                    i = j;
                }
                _ => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for Visitor {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !is_test(item) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let name = m.ident.to_string();
        self.module.push(name.clone());
        self.out.modules.insert(self.module.clone());
        let inner = self.dir.join(&name);
        let outer = std::mem::replace(&mut self.dir, inner);
        if let Some((_, items)) = &m.content {
            self.in_module(items, |v| syn::visit::visit_item_mod(v, m));
        } else {
            let flat = outer.join(format!("{name}.rs"));
            let file = if flat.exists() {
                flat
            } else {
                outer.join(&name).join("mod.rs")
            };
            self.read(&file);
        }
        self.dir = outer;
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let line = u.use_token.span.start().line;
        let mut paths = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut paths);
        for mut p in paths {
            if p.last().is_some_and(|s| s == "self") {
                p.pop(); // `use super::{self, x}`
            }
            self.record(&p, line);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p
            .segments
            .first()
            .map_or(0, |s| s.ident.span().start().line);
        self.record(&segments, line);
        syn::visit::visit_path(self, p);
    }

    /// `pub(super)`, `pub(in crate::x)`: who may see it, not what it uses.
    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.scan(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

/// Is `item` test code (`#[cfg(test)]`)?
fn is_test(item: &syn::Item) -> bool {
    let attrs: &[syn::Attribute] = match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    };
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

/// `segments` from the crate root, when it starts with `crate`, `super` or
/// `self`; `None` for anything else (a local name, another crate).
fn resolve(module: &[String], segments: &[String]) -> Option<Vec<String>> {
    let (first, rest) = segments.split_first()?;
    match first.as_str() {
        "crate" => Some(rest.to_vec()),
        "self" => Some(module.iter().chain(rest).cloned().collect()),
        "super" => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            let base = module.len().checked_sub(ups)?;
            Some(
                module[..base]
                    .iter()
                    .chain(&segments[ups..])
                    .cloned()
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Each path of a use tree, as segments (`{a, b::c}` gives two).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => out.push([&prefix[..], &[n.ident.to_string()]].concat()),
        syn::UseTree::Rename(r) => out.push([&prefix[..], &[r.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

/// The strongly connected components of more than one node, each as a
/// shortest cycle through its first node (`a -> b -> a`).
fn cycles<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<Vec<&'a str>> {
    let nodes: BTreeSet<&str> = graph
        .iter()
        .flat_map(|(n, to)| std::iter::once(*n).chain(to.iter().copied()))
        .collect();
    let reaches = |from: &'a str| -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            for next in graph.get(n).into_iter().flatten() {
                if seen.insert(*next) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&str, BTreeSet<&str>> = nodes.iter().map(|n| (*n, reaches(n))).collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(n) || !reach[n].contains(n) {
            continue;
        }
        let component: BTreeSet<&str> = reach[n]
            .iter()
            .copied()
            .filter(|m| reach[m].contains(n))
            .collect();
        done.extend(component.iter().copied());
        out.push(shortest_cycle(graph, n, &component));
    }
    out
}

/// A shortest cycle from `start` back to it inside `component` (breadth
/// first).
fn shortest_cycle<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    start: &'a str,
    component: &BTreeSet<&'a str>,
) -> Vec<&'a str> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for next in graph.get(n).into_iter().flatten() {
            if *next == start {
                let mut back = Vec::new();
                let mut at = n;
                while at != start {
                    back.push(at);
                    at = came_from[at];
                }
                back.reverse();
                return [&[start], &back[..], &[start]].concat();
            }
            if component.contains(next) && !came_from.contains_key(next) {
                came_from.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    vec![start, start]
}

/// The cycles of `edges`, each with where each of its steps is written.
fn cycle_problems(what: &str, edges: &Edges) -> Vec<String> {
    let graph: BTreeMap<&str, BTreeSet<&str>> = edges
        .iter()
        .map(|(from, to)| (*from, to.keys().copied().collect()))
        .collect();
    cycles(&graph)
        .into_iter()
        .map(|cycle| {
            let mut msg = format!("cycle {what}: {}", cycle.join(" -> "));
            for step in cycle.windows(2) {
                if let Some(r) = edges[step[0]][step[1]].first() {
                    let _ = write!(
                        msg,
                        "\n  {}: {} uses {} ({})",
                        r.at(),
                        step[0],
                        step[1],
                        r.written
                    );
                }
            }
            msg
        })
        .collect()
}
