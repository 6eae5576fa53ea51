//! Small helpers for building portable SQL.

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A double-quoted FTS5 string (a phrase), with inner quotes doubled.
pub fn fts5_phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Collects `$n` parameters in order while a query is assembled.
#[derive(Default)]
pub struct Params {
    pub values: Vec<Param>,
}

pub enum Param {
    Text(String),
}

impl Params {
    /// Adds a value and returns its placeholder.
    pub fn push(&mut self, p: Param) -> String {
        self.values.push(p);
        format!("${}", self.values.len())
    }

    pub fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for v in &self.values {
            q = match v {
                Param::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }

    pub fn bind_scalar<'q, O>(
        &'q self,
        mut q: sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for v in &self.values {
            q = match v {
                Param::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(like_escape(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn quotes_fts_phrases() {
        assert_eq!(fts5_phrase(r#"say "hi""#), r#""say ""hi""""#);
    }
}
