//! The Content-Security-Policy every answer carries.
//!
//! Pages are rendered on the server and need no inline style, and no inline script but one:
//! with the client bundle, Leptos's island loader is an inline module script. It runs only by
//! the per-page nonce it carries, and the bundle itself needs `'wasm-unsafe-eval'` (compiling
//! WebAssembly, not `eval`). Images may also come from `https:` addresses an admin entered.

/// The policy of answers that load no script of ours (and of every non-page answer).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of a page that loads the client bundle with an inline loader carrying `nonce`.
pub fn with_script_nonce(nonce: &str) -> String {
    CONTENT_SECURITY_POLICY.replacen(
        "script-src 'self';",
        &format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval';"),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_policy_allows_only_the_nonce_and_the_bundle() {
        let p = with_script_nonce("abc123");
        assert!(p.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"), "{p}");
        assert!(!p.contains("unsafe-inline"), "{p}");
        assert!(p.ends_with("frame-ancestors 'none'"), "{p}");
    }
}
