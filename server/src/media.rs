//! Generated images: product placeholders (until real images are uploaded) and the favicon.
//! SVG, so they are tiny, sharp at any size, and need no files on disk.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const PALETTE: &[(&str, &str, &str)] = &[
    ("slate", "#475569", "#e2e8f0"),
    ("sand", "#a16207", "#fef3c7"),
    ("forest", "#166534", "#dcfce7"),
    ("coral", "#c2410c", "#ffedd5"),
    ("midnight", "#1e3a8a", "#dbeafe"),
    ("ivory", "#78716c", "#fafaf9"),
];

fn svg_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], body)
        .into_response()
}

/// `GET /media/placeholder/{category}-{colour}.svg`
pub async fn placeholder(Path(name): Path<String>) -> Response {
    let Some(stem) = name.strip_suffix(".svg") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (category, colour) = stem.rsplit_once('-').unwrap_or((stem, "slate"));
    // Only letters: the label is drawn into the SVG.
    if category.is_empty() || category.len() > 24 || !category.chars().all(|c| c.is_ascii_lowercase()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (_, fg, bg) = PALETTE.iter().find(|(n, _, _)| *n == colour).copied().unwrap_or(PALETTE[0]);
    let label = if category == "none" { "no image".to_string() } else { category.to_string() };
    svg_response(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300" role="img" aria-label="{label}">
<rect width="400" height="300" fill="{bg}"/>
<circle cx="320" cy="70" r="90" fill="{fg}" opacity="0.12"/>
<rect x="40" y="190" width="180" height="70" rx="12" fill="{fg}" opacity="0.18"/>
<text x="40" y="150" font-family="system-ui, sans-serif" font-size="40" font-weight="700" fill="{fg}">{label}</text>
</svg>"##
    ))
}

/// `GET /media/favicon.svg`
pub async fn favicon() -> Response {
    svg_response(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#e0452b"/><path d="M18 4 8 18h7l-2 10 10-14h-7z" fill="#fff"/></svg>"##
            .to_string(),
    )
}

/// The content type of an uploaded file by its generated name (`<32 hex>[-thumb].<ext>`), or
/// `None` for any name the upload code could not have made.
fn upload_type(name: &str) -> Option<&'static str> {
    let (stem, ext) = name.rsplit_once('.')?;
    let id = stem.strip_suffix("-thumb").unwrap_or(stem);
    if id.len() != 32 || !id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
        return None;
    }
    match ext {
        "png" => Some("image/png"),
        "jpg" => Some("image/jpeg"),
        "webp" => Some("image/webp"),
        "gif" => Some("image/gif"),
        _ => None,
    }
}

/// `GET /media/uploads/{name}`: an uploaded product image or its thumbnail, from
/// `$SHOP_DATA_DIR/uploads`. Names are generated and never reused, so they cache forever.
pub async fn upload(
    axum::extract::State(state): axum::extract::State<crate::web::WebState>,
    Path(name): Path<String>,
) -> Response {
    let Some(content_type) = upload_type(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(state.app.uploads_dir.join(&name)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, %name, "cannot read an upload");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::upload_type;

    #[test]
    fn only_generated_upload_names_are_served() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(upload_type(&format!("{id}.png")), Some("image/png"));
        assert_eq!(upload_type(&format!("{id}-thumb.jpg")), Some("image/jpeg"));
        assert_eq!(upload_type(&format!("{id}.svg")), None);
        assert_eq!(upload_type("../secret.key"), None);
        assert_eq!(upload_type(&format!("{}.png", id.to_uppercase())), None);
        assert_eq!(upload_type(&format!("{id}.png.part")), None);
    }
}
