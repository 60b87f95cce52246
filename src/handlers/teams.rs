//! Teams pages (being written).

use actix_web::HttpResponse;

use crate::error::{AppError, AppResult};

pub async fn list() -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}
pub async fn create() -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}
pub async fn show() -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}
pub async fn add_member() -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}
pub async fn set_role() -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}
pub async fn remove_member() -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}
pub async fn leave() -> AppResult<HttpResponse> {
    Err(AppError::NotFound)
}
