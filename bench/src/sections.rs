//! Sections of `docs/BENCHMARKS.md` that one benchmark owns, kept between two markers so each
//! benchmark (the drill, the catalog, the live stream) rewrites only its own part of the file.

/// A section's markers.
#[derive(Debug, Clone, Copy)]
pub struct Markers {
    pub begin: &'static str,
    pub end: &'static str,
}

pub const CATALOG: Markers = Markers { begin: "<!-- catalog:begin -->", end: "<!-- catalog:end -->" };
pub const LIVE: Markers = Markers { begin: "<!-- live:begin -->", end: "<!-- live:end -->" };
/// Every benchmark's own section (the drill writes the rest of the file).
pub const ALL: [Markers; 2] = [CATALOG, LIVE];

/// The section of a document, markers included.
pub fn section_of(doc: &str, m: Markers) -> Option<&str> {
    let start = doc.find(m.begin)?;
    let end = doc[start..].find(m.end)? + start + m.end.len();
    Some(&doc[start..end])
}

/// `doc` with its section replaced by `section` (appended when it has none).
pub fn splice(doc: &str, m: Markers, section: &str) -> String {
    let section = section.trim_end();
    match section_of(doc, m) {
        Some(old) => doc.replacen(old, section, 1),
        None if doc.trim().is_empty() => format!("{section}\n"),
        None => format!("{}\n\n{section}\n", doc.trim_end()),
    }
}

/// The drill's document with every other benchmark's section of the file it replaces carried
/// over.
pub fn keep_sections(path: &std::path::Path, drill: String) -> String {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    ALL.iter().fold(drill, |doc, m| match section_of(&old, *m) {
        Some(section) => splice(&doc, *m, section),
        None => doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_replaced_or_appended() {
        let a = format!("{}\nA\n{}\n", CATALOG.begin, CATALOG.end);
        let b = format!("{}\nB\n{}\n", CATALOG.begin, CATALOG.end);
        let l = format!("{}\nL\n{}\n", LIVE.begin, LIVE.end);
        assert_eq!(splice("", CATALOG, &a), a);
        let doc = splice("# Drill\n\ntext\n", CATALOG, &a);
        assert_eq!(doc, format!("# Drill\n\ntext\n\n{a}"));
        let doc = splice(&format!("{doc}\n## after\n"), CATALOG, &b);
        assert!(doc.contains("\nB\n") && !doc.contains("\nA\n") && doc.ends_with("## after\n"), "{doc}");
        let doc = splice(&doc, LIVE, &l);
        assert!(doc.contains("\nB\n") && doc.contains("\nL\n"), "{doc}");
    }
}
