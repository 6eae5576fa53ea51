//! Product image uploads (server only): read the multipart form with a size cap, check the
//! type by content, make a thumbnail, store both under `$SHOP_DATA_DIR/uploads/`.
//!
//! The type is decided by the file's first bytes (PNG, JPEG, WebP, GIF), never by its name or
//! the browser's `Content-Type`, and the whole image must decode (within pixel and memory
//! limits) before anything is written. Files get generated names, so nothing a browser sends
//! ends up in a path. Served by `server/src/media.rs` at `/media/uploads/<name>`.

use crate::api::reject;
use crate::AppError;
use leptos::server_fn::codec::MultipartData;
use std::path::{Path, PathBuf};

/// Largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;
/// Past the cap, the rest of an upload is read and dropped (so the browser gets the answer
/// instead of a reset connection), up to this much; beyond it the connection is dropped.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
/// Thumbnails fit in this box (product cards are 400×300).
const THUMB_SIZE: u32 = 400;
/// Decoding limits: no decompression bombs.
const MAX_PIXELS_SIDE: u32 = 10_000;
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

pub(crate) struct Upload {
    pub bytes: Vec<u8>,
}

pub(crate) struct UploadForm {
    pub product_id: Option<String>,
    pub image: Option<Upload>,
}

fn unreadable<E: std::fmt::Display>(e: E) -> AppError {
    tracing::warn!(error = %e, "unreadable upload");
    reject(AppError::BadRequest("The upload could not be read; please try again.".into()))
}

fn image_error(message: impl Into<String>) -> AppError {
    reject(AppError::field("image", message))
}

/// Reads `product_id` and `image` from the form. The image is capped at [`MAX_IMAGE_BYTES`].
pub(crate) async fn read_form(data: MultipartData) -> Result<UploadForm, AppError> {
    let mut multipart = data.into_inner().ok_or_else(|| unreadable("no multipart body"))?;
    let mut form = UploadForm { product_id: None, image: None };
    let mut too_large = false;
    let mut seen = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("product_id") => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    text.extend_from_slice(&chunk);
                    if text.len() > 32 {
                        return Err(unreadable("product_id too long"));
                    }
                }
                form.product_id = Some(String::from_utf8_lossy(&text).into_owned());
            }
            Some("image") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    seen += chunk.len();
                    if seen > DRAIN_LIMIT {
                        return Err(image_error("The image is larger than 5 MiB."));
                    }
                    if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
                        too_large = true;
                        bytes = Vec::new();
                    }
                    if !too_large {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                form.image = Some(Upload { bytes });
            }
            // Anything else is read and ignored.
            _ => while field.chunk().await.map_err(unreadable)?.is_some() {},
        }
    }
    if too_large {
        return Err(image_error("The image is larger than 5 MiB."));
    }
    Ok(form)
}

/// The formats accepted, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Png,
    Jpeg,
    WebP,
    Gif,
}

impl Kind {
    pub fn sniff(b: &[u8]) -> Option<Kind> {
        if b.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Kind::Png)
        } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Kind::Jpeg)
        } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
            Some(Kind::WebP)
        } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
            Some(Kind::Gif)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpg",
            Kind::WebP => "webp",
            Kind::Gif => "gif",
        }
    }

    fn format(self) -> image::ImageFormat {
        match self {
            Kind::Png => image::ImageFormat::Png,
            Kind::Jpeg => image::ImageFormat::Jpeg,
            Kind::WebP => image::ImageFormat::WebP,
            Kind::Gif => image::ImageFormat::Gif,
        }
    }
}

/// Decodes the whole image (within limits) and returns a JPEG thumbnail that fits in
/// [`THUMB_SIZE`]², transparent parts on white.
fn thumbnail(bytes: &[u8], kind: Kind) -> Result<Vec<u8>, String> {
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), kind.format());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_PIXELS_SIDE);
    limits.max_image_height = Some(MAX_PIXELS_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    let small = img.thumbnail(THUMB_SIZE, THUMB_SIZE).to_rgba8();
    let mut rgb = image::RgbImage::new(small.width(), small.height());
    for (out, px) in rgb.pixels_mut().zip(small.pixels()) {
        let [r, g, b, a] = px.0;
        let over_white = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        *out = image::Rgb([over_white(r), over_white(g), over_white(b)]);
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&rgb)
        .map_err(|e| e.to_string())?;
    Ok(jpeg)
}

/// An image written to disk.
pub(crate) struct StoredImage {
    pub url: String,
    pub thumb_url: String,
    pub bytes: usize,
    paths: [PathBuf; 2],
}

impl StoredImage {
    /// Removes the files again (the database write did not happen).
    pub async fn discard(&self) {
        for p in &self.paths {
            let _ = tokio::fs::remove_file(p).await;
        }
    }
}

/// Checks, thumbnails and stores an uploaded image under `dir` with a generated name.
pub(crate) async fn store_image(dir: &Path, image: Option<Upload>) -> Result<StoredImage, AppError> {
    let bytes = match image {
        Some(u) if !u.bytes.is_empty() => u.bytes,
        _ => return Err(image_error("Choose an image file to upload.")),
    };
    let kind =
        Kind::sniff(&bytes).ok_or_else(|| image_error("That file is not a PNG, JPEG, WebP or GIF image."))?;
    let (bytes, thumb) = tokio::task::spawn_blocking(move || {
        let thumb = thumbnail(&bytes, kind);
        (bytes, thumb)
    })
    .await
    .map_err(|e| {
        // A decoder panic on a hostile file: contained in the blocking task.
        tracing::warn!(error = %e, "image decoder failed");
        image_error("That image could not be read.")
    })?;
    let thumb = thumb.map_err(|e| {
        tracing::info!(error = %e, "upload refused: not a readable image");
        image_error("That image could not be read (damaged, or larger than 10,000 pixels a side).")
    })?;
    let stem = uuid::Uuid::new_v4().simple().to_string();
    let name = format!("{stem}.{}", kind.extension());
    let thumb_name = format!("{stem}-thumb.jpg");
    let write = |path: PathBuf, data: Vec<u8>| async move {
        let part = path.with_extension("part");
        tokio::fs::write(&part, &data).await?;
        tokio::fs::rename(&part, &path).await
    };
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, dir = %dir.display(), "cannot store an upload");
        AppError::Internal
    };
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let size = bytes.len();
    write(dir.join(&name), bytes).await.map_err(io)?;
    write(dir.join(&thumb_name), thumb).await.map_err(io)?;
    Ok(StoredImage {
        url: format!("/media/uploads/{name}"),
        thumb_url: format!("/media/uploads/{thumb_name}"),
        bytes: size,
        paths: [dir.join(name), dir.join(thumb_name)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_content() {
        assert_eq!(Kind::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(Kind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::WebP));
        assert_eq!(Kind::sniff(b"GIF89a..."), Some(Kind::Gif));
        assert_eq!(Kind::sniff(b"<svg xmlns=..."), None);
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WAVE"), None);
    }

    #[test]
    fn thumbnails_fit_the_box() {
        let img = image::RgbaImage::from_pixel(1200, 600, image::Rgba([10, 20, 30, 128]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgba8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let thumb = thumbnail(&png, Kind::Png).unwrap();
        let back = image::load_from_memory_with_format(&thumb, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (400, 200));
        assert!(thumbnail(b"\x89PNG\r\n\x1a\ngarbage", Kind::Png).is_err());
    }
}
