//! The person's steps through the pages: who is signed in, the sign-in
//! form, the second factor, consent; then a code (`code`), or, for a
//! device's sign-in at the device login page, the device's authorization
//! (`device`). Every step re-validates the whole request
//! (`request::validate`, or the stored device authorization), so a page
//! posted back can never widen what was asked for.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_protocol::{Aadsts, Version};

use super::pages;
use super::params::Params;
use super::request::{Prompt, Request, validate};
use super::session::session_digest;
use super::target::Target;
use crate::ProtocolError;
use crate::context::RequestContext;
use crate::directory::{Consent, User};
use crate::sign_in::{self, Checked, check_password, check_second_factor};
use crate::sign_in_log::SignIn;
use crate::state::AppState;
use crate::store::{DeviceCodeRecord, DeviceCodeStatus, SessionRecord};

pub struct Flow<'a> {
    pub state: &'a AppState,
    pub ctx: &'a RequestContext,
    pub target: &'a Target<'a>,
    pub params: &'a Params,
    pub headers: &'a HeaderMap,
    pub method: &'a Method,
    pub finish: Finish<'a>,
}

/// What the person's steps end in.
#[derive(Clone, Copy)]
pub enum Finish<'a> {
    /// An authorization code, delivered to the client's redirect URI.
    Code,
    /// The device authorization the person's user code named: approved
    /// (or declined) at the device login page, which the device polls for.
    Device(&'a DeviceCodeRecord),
}

const EXPIRED_FORM: &str = "This page has expired. Please try again.";

impl<'a> Flow<'a> {
    pub async fn run(&self) -> Result<Response, ProtocolError> {
        let request = match self.finish {
            Finish::Code => validate(self.state, self.target, self.params)?,
            Finish::Device(record) => super::device::request(self.state, self.target, record)?,
        };
        if *self.method == Method::POST {
            match self.params.first("lk_step") {
                Some("signin") => return self.sign_in_posted().await,
                Some("mfa") => return self.second_factor_posted(&request).await,
                Some("consent") => return self.consent_posted(&request).await,
                _ => {}
            }
        }
        self.proceed(&request).await
    }

    /// The GET path: who is signed in, what is still needed, or the code.
    async fn proceed(&self, request: &Request<'_>) -> Result<Response, ProtocolError> {
        let signed_in = match request.prompt {
            Prompt::Login => None,
            _ => self.signed_in().await?,
        };
        let Some((session, user)) = signed_in else {
            if request.prompt == Prompt::None {
                return Err(Aadsts::LoginRequired.into());
            }
            let hint = request.login_hint.clone().unwrap_or_default();
            return self.form_page(|form| pages::sign_in(form, &hint, None));
        };
        if needs_second_factor(request, &user) && session.mfa_at.is_none() {
            let resource = request.api.app_id_uri.clone();
            // Latchkey has no page to enroll a second factor on: a user
            // without one cannot meet the policy, and the client hears so.
            if !user.has_second_factor() {
                return Err(Aadsts::MfaEnrollmentRequired { resource }.into());
            }
            if request.prompt == Prompt::None {
                return Err(Aadsts::MfaRequired { resource }.into());
            }
            return self.form_page(|form| pages::second_factor(form, &user.upn, None));
        }
        self.check_assignment(&user).await?;
        let consented = self.has_consent(request, &user).await?;
        if !consented || request.prompt == Prompt::Consent {
            if request.prompt == Prompt::None {
                let app = self.target.app;
                return Err(Aadsts::SilentConsentRequired {
                    client_id: app.client_id.to_string(),
                    app_name: app.name.clone(),
                }
                .into());
            }
            return self.form_page(|form| {
                pages::consent(form, &user.upn, &request.api.name, &request.scopes)
            });
        }
        self.complete(request, &user, &session).await
    }

    /// The last step, once the person is signed in and has consented.
    async fn complete(
        &self,
        request: &Request<'_>,
        user: &User,
        session: &SessionRecord,
    ) -> Result<Response, ProtocolError> {
        match self.finish {
            Finish::Code => self.issue_code(request, user, session).await,
            Finish::Device(record) => self.approve_device(record, user, session).await,
        }
    }

    /// The session cookie's session and its user, in this tenant.
    async fn signed_in(&self) -> Result<Option<(SessionRecord, User)>, ProtocolError> {
        let Some(value) = self.session_cookie() else {
            return Ok(None);
        };
        let Some(session) = self
            .state
            .store
            .find_session(&session_digest(value), self.ctx.unix_now())
            .await?
        else {
            return Ok(None);
        };
        if session.tenant_id != self.target.tenant.id {
            return Ok(None);
        }
        let user = self
            .state
            .store
            .find_user(session.tenant_id, session.user_oid)
            .await?;
        Ok(user.map(|user| (session, user)))
    }

    /// Azure AD's "assignment required", once the user has signed in with
    /// every factor: an app that does not admit them gets `access_denied`
    /// (AADSTS50105) at its redirect URI, before consent is asked and
    /// without a code; at the device login page, the error page, and the
    /// device's polls are told so (403) rather than left pending until
    /// the code expires. The session stays: another app may admit them.
    async fn check_assignment(&self, user: &User) -> Result<(), ProtocolError> {
        let app = self.target.app;
        if app.admits(user) {
            return Ok(());
        }
        if let Finish::Device(record) = self.finish {
            // Whether or not it was still pending, the page says why.
            self.state
                .store
                .decide_device_code(
                    &record.user_code,
                    &DeviceCodeStatus::NotAssigned,
                    self.ctx.unix_now(),
                )
                .await?;
        }
        Err(Aadsts::SignInUserNotAssigned {
            client_id: app.client_id.to_string(),
            app_name: app.name.clone(),
        }
        .into())
    }

    async fn has_consent(&self, request: &Request<'_>, user: &User) -> Result<bool, ProtocolError> {
        let consents = self
            .state
            .store
            .consents(
                self.target.tenant.id,
                user.object_id,
                self.target.app.client_id,
            )
            .await?;
        Ok(request.scopes.iter().all(|scope| {
            consents
                .iter()
                .any(|c| c.covers(request.api) && c.scopes.contains(scope))
        }))
    }

    /// This tenant's authorize endpoint (or the device login page), where
    /// the pages post.
    fn action(&self) -> String {
        let segment = self.target.tenant_segment;
        if let Finish::Device(_) = self.finish {
            return super::device::PAGE_PATH.to_owned();
        }
        match self.target.version {
            Version::V1 => format!("/{segment}/oauth2/authorize"),
            Version::V2 => format!("/{segment}/oauth2/v2.0/authorize"),
        }
    }

    /// A form page with the request's parameters and a CSRF token (bound
    /// to the browser's session or pre-session: `session`).
    fn form_page(
        &self,
        render: impl FnOnce(&pages::Form<'_>) -> Response,
    ) -> Result<Response, ProtocolError> {
        let (csrf, set_cookie) = self.page_csrf()?;
        let params = self.params.protocol_pairs(&[]);
        let action = self.action();
        let form = pages::Form {
            action: &action,
            params: &params,
            csrf: &csrf,
            app: &self.target.app.name,
            tenant: &self.target.tenant.name,
            redirect_uri: &self.target.redirect_uri,
            device_code: match self.finish {
                Finish::Code => None,
                Finish::Device(record) => Some(&record.user_code),
            },
        };
        let mut response = render(&form);
        if let Some(set_cookie) = set_cookie {
            response
                .headers_mut()
                .append(header::SET_COOKIE, set_cookie);
        }
        Ok(response)
    }

    /// 303 back to this endpoint with the request's parameters, `drop` removed.
    fn see_other(&self, drop: &[&str]) -> Result<Response, ProtocolError> {
        let location = format!("{}?{}", self.action(), self.params.query_string(drop));
        // The query is form-encoded and the action ours: always a header value.
        let location = HeaderValue::from_str(&location)
            .map_err(|_| ProtocolError::internal("the step's Location is not a header value"))?;
        let mut response = StatusCode::SEE_OTHER.into_response();
        let headers = response.headers_mut();
        headers.insert(header::LOCATION, location);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }

    async fn sign_in_posted(&self) -> Result<Response, ProtocolError> {
        let username = self.params.first("username").unwrap_or_default().to_owned();
        if !self.csrf_ok() {
            return self.form_page(|form| pages::sign_in(form, &username, Some(EXPIRED_FORM)));
        }
        let password = self.params.first("password").unwrap_or_default().to_owned();
        let tenant = self.target.tenant.id;
        let checked = check_password(self.state, self.ctx, tenant, &username, password).await?;
        let user = match checked {
            Checked::Passed(user) => user,
            refused => {
                let message = refusal_message(&refused);
                let condition = refusal_condition(&refused);
                tracing::info!(trace_id = %self.ctx.ids.trace_id, aadsts = condition.number(), "sign-in refused");
                let mut response =
                    self.form_page(|form| pages::sign_in(form, &username, Some(&message)))?;
                self.target.note_sign_in(&mut response, Some(&username));
                SignIn::refuse(&mut response, &condition, None);
                return Ok(response);
            }
        };
        // A user with a second factor completes a sign-in only with it,
        // even where a password alone is let in: else a password-holder
        // could reset the lockout between guesses at the code.
        if !user.has_second_factor() {
            sign_in::completed(self.state, tenant, &user.upn).await?;
        }
        let set_cookies = self.start_session(&user).await?;
        let mut response = self.see_other(&["prompt"])?;
        for set_cookie in set_cookies {
            response
                .headers_mut()
                .append(header::SET_COOKIE, set_cookie);
        }
        Ok(response)
    }

    async fn second_factor_posted(&self, request: &Request<'_>) -> Result<Response, ProtocolError> {
        let Some((session, user)) = self.signed_in().await? else {
            return self.proceed(request).await;
        };
        if !self.csrf_ok() {
            return self
                .form_page(|form| pages::second_factor(form, &user.upn, Some(EXPIRED_FORM)));
        }
        let code = self.params.first("otp").unwrap_or_default();
        let now = self.ctx.unix_now();
        match check_second_factor(self.state, self.ctx, &user, code).await? {
            Checked::Passed(()) => {}
            Checked::Failed => {
                let message =
                    "That code is not right. Enter the current code from your authenticator app.";
                return self.form_page(|form| pages::second_factor(form, &user.upn, Some(message)));
            }
            refused => {
                let message = refusal_message(&refused);
                return self
                    .form_page(|form| pages::second_factor(form, &user.upn, Some(&message)));
            }
        }
        sign_in::completed(self.state, user.tenant_id, &user.upn).await?;
        let Some(set_cookie) = self.raise_session(&session, now).await? else {
            return self.proceed(request).await;
        };
        let mut response = self.see_other(&["prompt"])?;
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie);
        Ok(response)
    }

    async fn consent_posted(&self, request: &Request<'_>) -> Result<Response, ProtocolError> {
        let Some((session, user)) = self.signed_in().await? else {
            return self.proceed(request).await;
        };
        if needs_second_factor(request, &user) && session.mfa_at.is_none() {
            return self.proceed(request).await;
        }
        self.check_assignment(&user).await?;
        if !self.csrf_ok() {
            return self.form_page(|form| {
                pages::consent(form, &user.upn, &request.api.name, &request.scopes)
            });
        }
        if self.params.first("consent") != Some("accept") {
            return match self.finish {
                Finish::Code => Err(Aadsts::UserDeclinedConsent.into()),
                Finish::Device(record) => self.decline_device(record).await,
            };
        }
        self.state
            .store
            .grant_consent(&Consent {
                tenant_id: self.target.tenant.id,
                user_oid: user.object_id,
                client_id: self.target.app.client_id,
                api: Some(request.api.app_id_uri.clone()),
                scopes: request.scopes.clone(),
            })
            .await?;
        self.complete(request, &user, &session).await
    }
}

/// Whether a session must have passed `user`'s second factor for
/// `request`: at every sign-in (the user's own, enforced), or for this
/// request (the API's policy, or its `claims`).
fn needs_second_factor(request: &Request<'_>, user: &User) -> bool {
    user.requires_second_factor() || request.mfa_asked
}

/// What a sign-in page says when a credential was refused; a lockout or
/// a rate limit names its AADSTS condition, as Azure AD's pages do.
fn refusal_message<T>(refused: &Checked<T>) -> String {
    match refused {
        Checked::Locked => {
            let condition = Aadsts::AccountLocked;
            format!("AADSTS{}: {}", condition.number(), condition.message())
        }
        Checked::Throttled { .. } => {
            let condition = Aadsts::SignInRateLimited;
            format!("AADSTS{}: {}", condition.number(), condition.message())
        }
        Checked::Passed(_) | Checked::Failed => "Your account or password is incorrect.".to_owned(),
    }
}

/// The condition of a refusal, for the logs.
fn refusal_condition<T>(refused: &Checked<T>) -> Aadsts {
    match refused {
        Checked::Locked => Aadsts::AccountLocked,
        Checked::Throttled { .. } => Aadsts::SignInRateLimited,
        Checked::Passed(_) | Checked::Failed => Aadsts::InvalidUsernameOrPassword,
    }
}
