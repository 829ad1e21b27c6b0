//! Uploaded media, served from the upload directory: only names the catalog
//! generates are looked up, with the type their extension was given for their
//! sniffed bytes, and browsers told not to guess another.

use actix_web::{HttpResponse, get, http::header, web};

use crate::{
    catalog::image::{self, ImageName},
    web::{error::WebError, state::AppState},
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(reward_image);
}

#[get("/media/rewards/{name}")]
async fn reward_image(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let name = ImageName::parse(&name).ok_or(WebError::NotFound)?;
    let (dir, wanted) = (state.upload_dir.clone(), name.clone());
    let bytes = web::block(move || image::load(&dir, &wanted))
        .await
        .map_err(|e| WebError::Internal(e.into()))?
        .map_err(|e| WebError::Internal(e.into()))?
        .ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(name.kind().content_type())
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // A name is never reused for other bytes: a new image gets a new name.
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(bytes))
}
