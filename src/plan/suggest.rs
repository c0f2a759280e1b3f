//! Did you mean: the live names closest to a name the config gives, and
//! the note that offers them. A leaf of `plan/`: it uses only `strsim`.

use std::collections::BTreeSet;

/// At most this many suggestions per resource.
pub(super) const SUGGESTIONS: usize = 3;

/// `no container x on server s1; did you mean y? (or deploy it, …)`.
pub(super) fn note(absent: &str, suggestions: &[String], otherwise: &str) -> String {
    match suggestions {
        [] => format!("{absent}; {otherwise}"),
        s => format!("{absent}; did you mean {}? (or {otherwise})", or_list(s)),
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The candidates close enough to `word` to be what a typo meant: within
/// an edit distance (Damerau-Levenshtein) of a third of its length, as
/// rustc's own suggestions, and only those nearest, so names that merely
/// share a prefix with it (`app-web-1`, `app-db-1`) do not crowd out the
/// likely fix.
pub(super) fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    let limit = (word.chars().count() / 3).max(1);
    let scored: BTreeSet<(usize, &str)> = candidates
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .collect();
    let best = scored.first().map_or(0, |s| s.0);
    scored
        .into_iter()
        .take_while(|(distance, _)| *distance == best)
        .take(SUGGESTIONS)
        .map(|(_, c)| c.to_string())
        .collect()
}
