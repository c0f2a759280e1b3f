//! Compose files: bytes → UTF-8 text (or a located error) → the compose
//! parser, whose errors are rendered with the offending line. Text that is
//! not UTF-8 is also parsed as the lossy text, so the parser sees every
//! input.

use crate::diag::SourceMap;
use crate::source::decode;

const PATH: &str = "stacks/compose.yaml";

pub fn compose(data: &[u8]) {
    let text = match decode(PATH, data.to_vec()) {
        Ok(text) => text,
        Err(e) => {
            assert!(e.to_string().starts_with(&format!("{PATH}:")), "{e}");
            String::from_utf8_lossy(data).into_owned()
        }
    };
    parse(&text);
}

fn parse(text: &str) {
    match crate::compose::parse(PATH, text) {
        Ok(c) => {
            let _ = c.defines_networks();
        }
        Err(d) => {
            let mut map = SourceMap::default();
            map.insert(PATH, text);
            let position = d.position(&map);
            assert!(position.starts_with(&format!("{PATH}:")), "{position}");
            let rendered = d.render(&map, false);
            assert!(rendered.contains(&position), "{rendered}");
            let _ = d.render(&map, true);
        }
    }
}
