//! Issuing the authorization code (RFC 6749 §4.1.2): 256 bits, single
//! use, short-lived, stored as a digest and bound to everything the token
//! request must repeat (client, redirect URI, resource, scopes, user,
//! PKCE challenge, nonce).

use axum::response::Response;

use super::request::Request;
use super::steps::Flow;
use crate::ProtocolError;
use crate::directory::User;
use crate::secrets::{Digest, random_token};
use crate::store::{AuthCodeRecord, SessionRecord};

impl Flow<'_> {
    pub(super) async fn issue_code(
        &self,
        request: &Request<'_>,
        user: &User,
        session: &SessionRecord,
    ) -> Result<Response, ProtocolError> {
        let code = random_token(32)?;
        let now = self.ctx.unix_now();
        let target = self.target;
        let record = AuthCodeRecord {
            digest: Digest::of(&code),
            tenant_id: target.tenant.id,
            client_id: target.app.client_id,
            redirect_uri: target.redirect_uri.clone(),
            spa_origin: target.spa_origin.clone(),
            user_oid: user.object_id,
            resource: request.api.app_id_uri.clone(),
            scope: request.scopes.join(" "),
            oidc_scope: request.oidc.join(" "),
            nonce: request.nonce.clone(),
            code_challenge: request.challenge.clone(),
            auth_methods: session.auth_methods().to_owned(),
            issued_at: now,
            expires_at: now + self.state.config.code_lifetime.as_secs() as i64,
            redeemed_at: None,
            family_id: None,
        };
        self.state.store.insert_code(&record).await?;
        // Sign-out without a client_id may return to the apps the session
        // signed in to (`logout`); a write only for an app's first code.
        let client_id = target.app.client_id.to_string();
        if !session.client_ids.contains(&client_id) {
            self.state
                .store
                .add_session_client(&session.digest, &client_id)
                .await?;
        }
        tracing::info!(trace_id = %self.ctx.ids.trace_id, correlation_id = %self.ctx.ids.correlation_id, client_id = %target.app.client_id, "authorization code issued");
        let mut response = target.deliver(vec![("code", code)])?;
        target.note_sign_in(&mut response, Some(&user.upn));
        Ok(response)
    }
}
