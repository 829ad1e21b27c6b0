//! The layers of `docs/ARCHITECTURE.md`, checked against the source: which
//! top-level module may import which, and no cycle between top-level modules.
//! It reads `crate::` paths in `src/`, so a new back-edge fails here before it
//! tangles the code.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

/// Plain building blocks: they import nothing above them.
const FOUNDATION: &[&str] = &[
    "clock",
    "config",
    "crypto",
    "db",
    "domain",
    "error",
    "i18n",
    "outbound",
    "spreadsheet",
    "telemetry",
];
/// The books: journal entries, transfers, balances and the chart of accounts.
const LEDGER: &[&str] = &["chart", "ledger"];
/// How people and programs reach the services, and the tools around them.
const EDGES: &[&str] = &[
    "api", "bench", "cli", "dataset", "demo", "jobs", "portals", "sim", "startup", "web",
];

/// Which modules `module` may not import.
fn forbidden(module: &str) -> Vec<&'static str> {
    if FOUNDATION.contains(&module) {
        LEDGER.iter().chain(EDGES).copied().collect()
    } else if LEDGER.contains(&module) {
        EDGES.to_vec()
    } else if EDGES.contains(&module) {
        Vec::new()
    } else {
        // A service: never the edges; the ledger and foundation below it are fine.
        EDGES.to_vec()
    }
}

fn is_service(module: &str) -> bool {
    ![FOUNDATION, LEDGER, EDGES]
        .iter()
        .any(|layer| layer.contains(&module))
}

/// The top-level modules `lib.rs` declares.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    fs::read_to_string(src.join("lib.rs"))
        .expect("read lib.rs")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';').to_owned())
        .collect()
}

/// The source without comments (doc comments name modules in prose).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            // `//` inside a string ("https://…") is rare in code that names
            // `crate::`; a comment is what matters here.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level names after each `crate::`, including those in
/// `crate::{a::x, b}` groups.
fn imported(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && c == ',') {
                    names.extend(first_segment(&item));
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else if depth == 1 {
                    item.push(c);
                } else if depth == 2 && c == '{' {
                    // Anything nested belongs to the item started at depth 1.
                }
            }
        } else {
            names.extend(first_segment(rest));
        }
    }
    names
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Every top-level module's imports of other top-level modules, with a file
/// that makes each.
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = top_level_modules(&src);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).expect("under src");
            let first = relative.components().next().expect("a file name");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if !modules.contains(&module) {
                continue; // lib.rs and main.rs
            }
            let code = code_of(&fs::read_to_string(&path).expect("read a source file"));
            for target in imported(&code) {
                if target != module && modules.contains(&target) {
                    graph
                        .entry(module.clone())
                        .or_default()
                        .entry(target)
                        .or_insert_with(|| relative.display().to_string());
                }
            }
        }
    }
    graph
}

#[test]
fn every_module_imports_only_what_its_layer_allows() {
    let mut violations = Vec::new();
    for (module, targets) in module_graph() {
        for forbidden in forbidden(&module) {
            if let Some(file) = targets.get(forbidden) {
                violations.push(format!("{module} imports {forbidden} ({file})"));
            }
        }
        if LEDGER.contains(&module.as_str()) {
            for (target, file) in &targets {
                if is_service(target) {
                    violations.push(format!("{module} imports the service {target} ({file})"));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer violations:\n{}",
        violations.join("\n")
    );
}

/// Tarjan's strongly connected components of the module graph: any with two
/// or more modules is a cycle.
struct Walk<'a> {
    graph: &'a BTreeMap<String, BTreeMap<String, String>>,
    index: BTreeMap<&'a str, usize>,
    low: BTreeMap<&'a str, usize>,
    stack: Vec<&'a str>,
    cycles: Vec<Vec<&'a str>>,
}
impl<'a> Walk<'a> {
    fn visit(&mut self, module: &'a str) {
        let index = self.index.len();
        self.index.insert(module, index);
        self.low.insert(module, index);
        self.stack.push(module);
        for target in self.graph.get(module).into_iter().flat_map(|t| t.keys()) {
            if !self.index.contains_key(target.as_str()) {
                self.visit(target);
                let low = self.low[module].min(self.low[target.as_str()]);
                self.low.insert(module, low);
            } else if self.stack.contains(&target.as_str()) {
                let low = self.low[module].min(self.index[target.as_str()]);
                self.low.insert(module, low);
            }
        }
        if self.low[module] == self.index[module] {
            let at = self
                .stack
                .iter()
                .rposition(|m| *m == module)
                .expect("on the stack");
            let component = self.stack.split_off(at);
            if component.len() > 1 {
                self.cycles.push(component);
            }
        }
    }
}

#[test]
fn top_level_modules_import_each_other_in_one_direction() {
    let graph = module_graph();
    let mut walk = Walk {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        cycles: Vec::new(),
    };
    for module in graph.keys() {
        if !walk.index.contains_key(module.as_str()) {
            walk.visit(module);
        }
    }
    let described: Vec<String> = walk
        .cycles
        .iter()
        .map(|cycle| {
            let edges: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    graph[*from]
                        .iter()
                        .filter(|(to, _)| cycle.contains(&to.as_str()))
                        .map(move |(to, file)| format!("{from} → {to} ({file})"))
                })
                .collect();
            edges.join(", ")
        })
        .collect();
    assert!(
        described.is_empty(),
        "import cycles:\n{}",
        described.join("\n")
    );
}

#[test]
fn the_import_reader_sees_groups_and_ignores_comments() {
    let code =
        code_of("use crate::{a::x, b::{y, z}, c};\n// crate::d in prose\nlet _ = crate::e::f();");
    let names: Vec<String> = imported(&code).into_iter().collect();
    assert_eq!(names, ["a", "b", "c", "e"]);
}
