//! `TokenStore`: the app's side of OAuth token rotation, and its error.

use crate::types::TokenPair;

/// Why the app's [`TokenStore`] could not persist a rotated pair.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum TokenStoreError {
    /// The store failed; `reason` is app text (keep secrets out of it).
    Failed { reason: String },
}

impl std::fmt::Display for TokenStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenStoreError::Failed { reason } => write!(f, "token store failed: {reason}"),
        }
    }
}

impl std::error::Error for TokenStoreError {}

/// Any other exception thrown by the app's implementation ends up here. Only its type is
/// kept (the text before the first `:`, e.g. `java.io.IOException`): its message is app text
/// that could hold anything, and the reason becomes part of the `AuthFailed` description.
impl From<uniffi::UnexpectedUniFFICallbackError> for TokenStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let kind: String = e
            .reason
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .chars()
            .take(120)
            .collect();
        TokenStoreError::Failed {
            reason: format!("unexpected error in the app's TokenStore: {kind}"),
        }
    }
}

/// Implemented by the app to persist rotated OAuth tokens (Bitrix24's refresh tokens are
/// single-use: lose the new pair and the app must be re-authorised).
///
/// `save` is called on the thread that made the call which triggered the refresh, before the
/// new access token is used. Persist both tokens atomically and return; throwing
/// `TokenStoreException` (Swift: `TokenStoreError`) fails that call with `AuthFailed`.
#[uniffi::export(callback_interface)]
pub trait TokenStore: Send + Sync {
    fn save(&self, tokens: TokenPair) -> Result<(), TokenStoreError>;
}
