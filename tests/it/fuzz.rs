//! The fuzz targets (`berthing::fuzz`) for a bounded time: arbitrary bytes
//! and structure-aware mutations of seeds (the quickstart and golden
//! configs and the malformed ones of `config_errors`, the compose fixtures
//! and Coolify's templates when present, saved plans and journals the
//! planner makes), proptest-generated and shrunk. `BERTH_FUZZ_SECS` bounds
//! the whole run (default 10 s, CI 60 s); `BERTH_FUZZ_REPLAY=DIR` replays
//! every file under DIR through every target (crashes an afl.rs run found);
//! `BERTH_FUZZ_SEEDS=DIR` writes the seeds, one folder a target, for
//! afl.rs. Every input in `tests/it/fuzz_regressions/` is replayed each run.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Tokens the mutations insert: pieces of TOML, YAML and JSON syntax, and
/// of berth's own vocabulary.
const TOKENS: &[&str] = &[
    "[[server]]\n",
    "[[destination]]\n",
    "[[application]]\n",
    "[[service]]\n",
    "[settings]\n",
    "name = \"x\"\n",
    "server = \"s1\"\n",
    "clone_of = \"api\"\n",
    "subnet = \"10.0.0.0/8\"\n",
    "gateway = \"10.0.0.1\"\n",
    "address = \"ssh://-o@h:99999\"\n",
    "compose_file = \"../x.yaml\"\n",
    "= ",
    "\"",
    "'''",
    "\"\"\"",
    "{ a = 1 }",
    "[",
    "]",
    "#",
    "\\u{0}",
    "\\uD800",
    "services:\n",
    "  networks:\n",
    "<<: *a\n",
    "&a ",
    "*a",
    "- ",
    ": ",
    "!!binary ",
    "? ",
    "---\n",
    "...\n",
    "\t",
    "{",
    "}",
    ",",
    "null",
    "true",
    "[]",
    "{}",
    "\"change\":",
    "\"action\":\"replace_network\"",
    "\"format_version\":1,",
    "\"servers\":[],",
    "1e999999",
    "-0",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "-9223372036854775809",
    "0x7fffffff",
    "inf",
    "nan",
    "1979-05-27T07:32:00Z",
];

/// Multibyte UTF-8 (2, 3 and 4 bytes, a combining mark, a BOM) and
/// fragments of it.
const MULTIBYTE: &[&[u8]] = &[
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    "e\u{301}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{2028}".as_bytes(),
    b"\xe2\x82",
    b"\xf0\x9f",
    b"\x80",
    b"\xff",
    b"\r",
    b"\r\n",
];

/// One change to a seed.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    SetByte(usize, u8),
    Truncate(usize),
    Delete(usize, usize),
    /// A range of another seed, inserted.
    Splice(usize, usize, usize, usize),
    Token(usize, usize),
    /// A line repeated: duplicate keys and tables.
    DuplicateLine(usize),
    /// A run of digits replaced by a huge number.
    HugeNumber(usize, usize),
    /// Multibyte text at a token boundary (where spans start and end).
    Multibyte(usize, usize),
    Bytes(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>();
    prop_oneof![
        (pos, 0u8..8).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        (pos, any::<u8>()).prop_map(|(p, b)| Mutation::SetByte(p, b)),
        pos.prop_map(Mutation::Truncate),
        (pos, 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (pos, any::<usize>(), any::<usize>(), 1usize..256)
            .prop_map(|(p, s, f, n)| Mutation::Splice(p, s, f, n)),
        (pos, 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Token(p, t)),
        pos.prop_map(Mutation::DuplicateLine),
        (pos, 0..TOKENS.len()).prop_map(|(p, t)| Mutation::HugeNumber(p, t)),
        (pos, 0..MULTIBYTE.len()).prop_map(|(p, m)| Mutation::Multibyte(p, m)),
        (pos, proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Mutation::Bytes(p, b)),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation, seeds: &[Vec<u8>]) {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match m {
        Mutation::FlipBit(p, b) if !data.is_empty() => {
            let i = p % data.len();
            data[i] ^= 1 << b;
        }
        Mutation::SetByte(p, v) if !data.is_empty() => {
            let i = p % data.len();
            data[i] = *v;
        }
        Mutation::Truncate(p) => data.truncate(at(*p, data.len())),
        Mutation::Delete(p, n) => {
            let i = at(*p, data.len());
            let end = (i + n).min(data.len());
            data.drain(i..end);
        }
        Mutation::Splice(p, s, f, n) => {
            let other = &seeds[s % seeds.len()];
            let from = at(*f, other.len());
            let piece = other[from..(from + n).min(other.len())].to_vec();
            let i = at(*p, data.len());
            data.splice(i..i, piece);
        }
        Mutation::Token(p, t) => {
            let i = boundary(data, *p);
            data.splice(i..i, TOKENS[*t].bytes());
        }
        Mutation::DuplicateLine(p) => {
            let i = at(*p, data.len());
            let start = data[..i]
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |s| s + 1);
            let end = data[i..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(data.len(), |e| i + e + 1);
            let line = data[start..end].to_vec();
            data.splice(end..end, line);
        }
        Mutation::HugeNumber(p, t) => {
            let huge = [
                "18446744073709551616",
                "99999999999999999999999",
                "-1",
                "65536",
            ];
            let digits: Vec<usize> = (0..data.len())
                .filter(|i| data[*i].is_ascii_digit())
                .collect();
            if let Some(&i) = digits.get(p % digits.len().max(1)) {
                let end = (i..data.len())
                    .find(|j| !data[*j].is_ascii_digit())
                    .unwrap_or(data.len());
                data.splice(i..end, huge[t % huge.len()].bytes());
            }
        }
        Mutation::Multibyte(p, m) => {
            let i = boundary(data, *p);
            data.splice(i..i, MULTIBYTE[*m].iter().copied());
        }
        Mutation::Bytes(p, b) => {
            let i = at(*p, data.len());
            data.splice(i..i, b.iter().copied());
        }
        _ => {}
    }
}

/// A position next to a token boundary (a quote, `=`, `:`, a bracket, a
/// space or a line end), where spans start and end.
fn boundary(data: &[u8], p: usize) -> usize {
    let marks: Vec<usize> = (0..data.len())
        .filter(|i| b"\"'=:[]{}, \n#-".contains(&data[*i]))
        .collect();
    match marks.len() {
        0 => p % (data.len() + 1),
        n => marks[p % n] + (p / n) % 2,
    }
}

/// An input for a target: arbitrary bytes, or a seed with 1–8 mutations.
fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        3 => (0..n, proptest::collection::vec(mutation(), 1..8)).prop_map(move |(s, ms)| {
            let mut data = seeds[s].clone();
            for m in &ms {
                apply(&mut data, m, &seeds);
            }
            data
        }),
    ]
}

fn files(dir: &Path, ext: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p, ext));
        } else if ext.is_empty() || p.extension().is_some_and(|x| ext.iter().any(|e| x == *e)) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The valid inputs each target's mutations start from.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(ROOT);
    match target {
        "config" => {
            let mut s = read_all(&files(&root.join("examples"), &["toml"]));
            s.extend(read_all(&files(&root.join("tests/fixtures"), &["toml"])));
            s.push(berthing::fuzz::SCENARIO.as_bytes().to_vec());
            // The malformed configs of the config-errors table.
            s.extend(
                super::config_errors::cases()
                    .into_iter()
                    .map(|(_, text, _, _)| text.into_bytes()),
            );
            s
        }
        "compose" => {
            let mut s = read_all(&files(&root.join("tests/fixtures"), &["yaml", "yml"]));
            s.extend(read_all(&files(
                &root.join("../shared/corpus/coolify-compose"),
                &["yaml", "yml"],
            )));
            s.push(berthing::fuzz::COMPOSE.as_bytes().to_vec());
            s
        }
        "saved_plan" => {
            let mut s = berthing::fuzz::saved_plan_seeds();
            s.extend(read_all(&files(&root.join("tests/fixtures"), &["json"])));
            s
        }
        "journal" => berthing::fuzz::journal_seeds(),
        _ => unreachable!(),
    }
}

fn budget() -> Duration {
    let secs = std::env::var("BERTH_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(10.0);
    Duration::from_secs_f64(secs)
}

fn panics(f: fn(&[u8]), data: &[u8]) -> bool {
    catch_unwind(AssertUnwindSafe(|| f(data))).is_err()
}

/// Where a failing input is written, shrunk.
fn crash_file(target: &str, data: &[u8]) -> PathBuf {
    let dir = Path::new(ROOT).join("target/fuzz-crashes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{target}-{}", data.len()));
    std::fs::write(&path, data).unwrap();
    path
}

/// Runs `target` on its seeds, then on generated inputs for `budget`; on a
/// panic, shrinks the input and fails naming it. Returns the number of
/// seeds and of generated executions.
fn run(name: &str, target: fn(&[u8]), budget: Duration) -> (usize, u64) {
    let seeds = seeds(name);
    assert!(!seeds.is_empty(), "no seeds for {name}");
    for (i, s) in seeds.iter().enumerate() {
        assert!(!panics(target, s), "{name}: seed {i} panics");
    }
    let n_seeds = seeds.len();
    let until = Instant::now() + budget;
    let strategy = input(seeds);
    let mut runner = TestRunner::new(Config::default());
    let mut execs = 0u64;
    while Instant::now() < until {
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        execs += 1;
        if !panics(target, &tree.current()) {
            continue;
        }
        let mut smallest = tree.current();
        for _ in 0..2000 {
            if panics(target, &tree.current()) {
                smallest = tree.current();
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
        let path = crash_file(name, &smallest);
        panic!(
            "fuzz target {name} panics on {} bytes, saved in {} (add it to tests/it/fuzz_regressions/ once fixed): {:?}",
            smallest.len(),
            path.display(),
            String::from_utf8_lossy(&smallest)
        );
    }
    (n_seeds, execs)
}

/// Every file under `dir`, through every target.
fn replay(dir: &Path) -> usize {
    let inputs = files(dir, &[]);
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        for (name, target) in berthing::fuzz::TARGETS {
            assert!(
                !panics(target, &data),
                "fuzz target {name} panics on {}",
                path.display()
            );
        }
    }
    inputs.len()
}

/// Counts go to the terminal even when the test's output is captured.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[test]
fn no_input_panics() {
    let total = budget();
    let per_target = total / berthing::fuzz::TARGETS.len() as u32;
    for (name, target) in berthing::fuzz::TARGETS {
        let started = Instant::now();
        let (seeds, execs) = run(name, target, per_target);
        say(&format!(
            "fuzz: {name}: {seeds} seeds, then {execs} generated inputs, in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        assert!(execs > 0, "{name}: no execution");
    }
}

#[test]
fn regressions_and_replays_do_not_panic() {
    let n = replay(&Path::new(ROOT).join("tests/it/fuzz_regressions"));
    assert!(n > 0, "tests/it/fuzz_regressions/ is empty");
    say(&format!("fuzz: {n} regression inputs replayed"));
    if let Ok(dir) = std::env::var("BERTH_FUZZ_REPLAY") {
        let n = replay(Path::new(&dir));
        say(&format!("fuzz: {n} inputs of {dir} replayed"));
    }
}

#[test]
fn seeds_are_written_for_afl_when_asked() {
    let Ok(dir) = std::env::var("BERTH_FUZZ_SEEDS") else {
        return;
    };
    for (name, _) in berthing::fuzz::TARGETS {
        let out = Path::new(&dir).join(name);
        std::fs::create_dir_all(&out).unwrap();
        for (i, seed) in seeds(name).iter().enumerate() {
            std::fs::write(out.join(format!("seed-{i:04}")), seed).unwrap();
        }
    }
}

#[test]
fn the_planner_makes_a_seed_for_every_journalled_change() {
    let actions: Vec<String> = berthing::fuzz::journal_seeds()
        .iter()
        .map(|s| {
            let v: serde_json::Value = serde_json::from_slice(s).unwrap();
            v["change"]["action"].as_str().unwrap().to_string()
        })
        .collect();
    for action in ["replace_network", "connect", "clone"] {
        assert!(actions.iter().any(|a| a == action), "{actions:?}");
    }
    assert!(!berthing::fuzz::saved_plan_seeds().is_empty());
}
