//! The directory file: any text is loaded or refused with a message, never
//! a panic. (Its seed gives users a `password_hash`: a `password` costs an
//! Argon2id hash per user per execution.)

pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(err) = latchkey_server::directory::parse_directory(text)
    {
        let _ = err.to_string();
    }
}
