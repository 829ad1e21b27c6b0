//! Reward images: a merchant's upload is kept only when its bytes are a PNG,
//! JPEG or WebP of at most 2 MiB, whatever the file name or the declared type
//! say. Files are stored under the upload directory with a generated name, so
//! nothing from the request ever becomes a path.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use crate::domain::id::RewardId;
use crate::error::{Class, Classify, Kind, Message, Refusal};

/// The largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// The image types accepted, each one every browser shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
}

impl ImageKind {
    /// The type the bytes are, by their magic numbers; None for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match infer::get(bytes)?.mime_type() {
            "image/png" => Some(Self::Png),
            "image/jpeg" => Some(Self::Jpeg),
            "image/webp" => Some(Self::Webp),
            _ => None,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }
}

/// A stored image's file name, as the database's CHECK allows it
/// (`^[a-z0-9_]+\.(png|jpg|webp)$`): no separators, no dots but the one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    name: String,
    kind: ImageKind,
}

impl ImageName {
    pub fn parse(name: &str) -> Option<Self> {
        let (stem, extension) = name.split_once('.')?;
        let stem_ok = !stem.is_empty()
            && stem
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let kind = [ImageKind::Png, ImageKind::Jpeg, ImageKind::Webp]
            .into_iter()
            .find(|k| k.extension() == extension)?;
        stem_ok.then(|| Self {
            name: name.to_owned(),
            kind,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> ImageKind {
        self.kind
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image is larger than {MAX_IMAGE_BYTES} bytes")]
    TooLarge,
    #[error("not a PNG, JPEG or WebP image")]
    NotAnImage,
    #[error("cannot store the image")]
    Io(#[from] io::Error),
}

impl Classify for ImageError {
    /// Bytes that are too many or not an image are the upload's fault; a
    /// disk that will not take them is the system's.
    fn class(&self) -> Class {
        let key = match self {
            Self::TooLarge => "catalog.error.image_too_large",
            Self::NotAnImage => "catalog.error.image_type",
            Self::Io(_) => return Class::System,
        };
        Class::Refusal(Refusal::new(
            Kind::Unprocessable,
            "image_refused",
            Message::new(key),
        ))
    }
}

fn rewards_dir(upload_dir: &Path) -> PathBuf {
    upload_dir.join("rewards")
}

/// Checks `bytes` and stores them for reward `reward_id` under a new name.
/// The file is written aside and renamed, so it is never served half-written.
pub fn store(
    upload_dir: &Path,
    reward_id: RewardId,
    bytes: &[u8],
) -> Result<ImageName, ImageError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge);
    }
    let kind = ImageKind::sniff(bytes).ok_or(ImageError::NotAnImage)?;
    // 48 random bits: names cannot be guessed from the reward's id alone.
    let suffix = rand::random::<u64>() >> 16;
    let name = format!("r{reward_id}_{suffix:012x}.{}", kind.extension());
    let dir = rewards_dir(upload_dir);
    fs::create_dir_all(&dir)?;
    let partial = dir.join(format!("{name}.partial"));
    fs::write(&partial, bytes)?;
    fs::rename(&partial, dir.join(&name))?;
    Ok(ImageName { name, kind })
}

/// The stored image's bytes; None when there is no such file.
pub fn load(upload_dir: &Path, name: &ImageName) -> io::Result<Option<Vec<u8>>> {
    match fs::read(rewards_dir(upload_dir).join(name.as_str())) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_their_bytes() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\x24\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a\x01\0\x01\0"), None);
        assert_eq!(
            ImageKind::sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\">"),
            None
        );
        assert_eq!(ImageKind::sniff(b"hello.png"), None);
    }

    #[test]
    fn only_generated_names_are_names() {
        let name = ImageName::parse("r42_1a2b3c.webp").unwrap();
        assert_eq!(name.kind(), ImageKind::Webp);
        for bad in [
            "../r1.png",
            "r1.png/..",
            "R1.png",
            "r1.gif",
            ".png",
            "r1..png",
            "r1.png.partial",
            "r 1.png",
            "r1",
        ] {
            assert_eq!(ImageName::parse(bad), None, "{bad:?}");
        }
    }
}
