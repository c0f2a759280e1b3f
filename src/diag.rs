//! Located diagnostics: an error or warning tied to a span of a config file,
//! rendered with the offending source line (annotate-snippets).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// The text of every config file read, by display path, so diagnostics can
/// quote the offending line.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: BTreeMap<String, String>,
}

impl SourceMap {
    pub fn insert(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_string(), text.to_string());
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, path: &str, offset: usize) -> (usize, usize) {
        line_col(self.get(path).unwrap_or(""), offset)
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A place in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub span: Range<usize>,
}

/// One problem found in the config, with where it is and what to do.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub at: Location,
    /// Short text under the caret.
    pub label: String,
    /// Another place that explains this one (e.g. the first definition of a duplicate).
    pub related: Option<Box<(Location, String)>>,
    /// Context that explains the problem (e.g. where a path was looked for).
    pub note: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, at: Location) -> Self {
        Diagnostic {
            message: message.into(),
            at,
            label: String::new(),
            related: None,
            note: None,
            help: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn related(mut self, at: Location, label: impl Into<String>) -> Self {
        self.related = Some(Box::new((at, label.into())));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, as editors and terminals link it.
    pub fn position(&self, sources: &SourceMap) -> String {
        let (line, col) = sources.line_col(&self.at.file, self.at.span.start);
        format!("{}:{line}:{col}", self.at.file)
    }

    /// Renders the diagnostic with its source line(s); `styled` adds colour.
    pub fn render(&self, sources: &SourceMap, styled: bool) -> String {
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let title = format!("{}: {}", self.position(sources), self.message);
        let primary = snippet(sources, &self.at, &self.label, AnnotationKind::Primary);
        let mut group = Level::ERROR.primary_title(title.as_str()).element(primary);
        if let Some(related) = &self.related {
            let (at, label) = &**related;
            if at.file == self.at.file {
                // annotate-snippets wants one snippet per file
                group = Level::ERROR.primary_title(title.as_str()).element(
                    snippet(sources, &self.at, &self.label, AnnotationKind::Primary).annotation(
                        AnnotationKind::Context
                            .span(clamp(sources, at))
                            .label(label.as_str()),
                    ),
                );
            } else {
                group = group.element(snippet(sources, at, label, AnnotationKind::Context));
            }
        }
        let mut report = vec![group];
        if let Some(note) = &self.note {
            report.push(Group::with_title(
                Level::NOTE.secondary_title(note.as_str()),
            ));
        }
        if let Some(help) = &self.help {
            report.push(Group::with_title(
                Level::HELP.secondary_title(help.as_str()),
            ));
        }
        renderer.render(&report)
    }
}

/// The span inside its file's text, on character boundaries (widened to
/// whole characters): annotate-snippets slices the text with it, and a
/// parser's offset may fall inside a multibyte character.
fn clamp(sources: &SourceMap, at: &Location) -> Range<usize> {
    let text = sources.get(&at.file).unwrap_or("");
    let start = floor_char_boundary(text, at.span.start.min(text.len()));
    let mut end = at.span.end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

fn snippet<'a>(
    sources: &'a SourceMap,
    at: &'a Location,
    label: &'a str,
    kind: AnnotationKind,
) -> Snippet<'a, annotate_snippets::Annotation<'a>> {
    let text = sources.get(&at.file).unwrap_or("");
    Snippet::source(text)
        .path(at.file.as_str())
        .annotation(kind.span(clamp(sources, at)).label(label))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at.file, self.message)
    }
}

/// Every problem found in a config, reported together.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub errors: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl Diagnostics {
    pub fn render(&self, styled: bool) -> String {
        let mut out = String::new();
        for d in &self.errors {
            out.push_str(&d.render(&self.sources, styled));
            out.push_str("\n\n");
        }
        let n = self.errors.len();
        out.push_str(&format!(
            "error: the config has {n} problem{}",
            if n == 1 { "" } else { "s" }
        ));
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_inside_a_multibyte_character_renders() {
        let mut sources = SourceMap::default();
        sources.insert("c.yaml", "\u{fffd}");
        let at = Location {
            file: "c.yaml".into(),
            span: 0..1,
        };
        assert_eq!(clamp(&sources, &at), 0..3);
        let d = Diagnostic::new("bad", at).label("here");
        assert!(d.render(&sources, false).contains("c.yaml:1:1"));
        let inside = Location {
            file: "c.yaml".into(),
            span: 1..2,
        };
        assert_eq!(clamp(&sources, &inside), 0..3);
    }

    #[test]
    fn line_col_counts_from_one_in_chars() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3));
        assert_eq!(line_col(text, 999), (3, 1));
    }
}
