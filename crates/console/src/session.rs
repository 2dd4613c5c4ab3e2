//! Sign-in sessions (DESIGN §7.13): an officer signs in with the node's API token and gets a
//! session cookie; the token itself never reaches the browser again, nor any URL.
//!
//! A session is a random 256-bit id (the cookie's value) with a CSRF token of its own, also
//! random, that every form of the session carries. It ends on sign-out, after
//! [`IDLE_TIMEOUT`] without a page, after [`MAX_AGE`] in any case, and with the node's process
//! (sessions live in memory only). At most [`MAX_SESSIONS`] are kept: the oldest goes first.

use axum::http::{HeaderMap, HeaderValue, header::COOKIE};
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// A session unused this long has ended.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A session this old has ended, used or not.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);
/// Most sessions kept at once.
const MAX_SESSIONS: usize = 256;

/// The cookie name of the console of `org` whose API listens on `port`. Browsers keep cookies
/// apart by host, not by port: on a devnet every console is on 127.0.0.1, so each needs a name
/// of its own or one sign-in would overwrite another's.
pub fn cookie_name(org: &str, port: u16) -> String {
    let org: String = org
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("custodia_{org}_{port}")
}

/// A signed-in session, as a handler sees it.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The session's id (the cookie's value).
    pub(crate) id: String,
    /// The token every form of this session carries.
    pub(crate) csrf: String,
}

struct Entry {
    csrf: String,
    created: Instant,
    seen: Instant,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.seen) < IDLE_TIMEOUT && now.duration_since(self.created) < MAX_AGE
    }
}

/// The node's sessions.
pub(crate) struct Sessions {
    token: String,
    cookie: String,
    secure: bool,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignInError {
    /// The node has no token: nobody can sign in.
    NoToken,
    /// Not the node's token.
    WrongToken,
}

impl Sessions {
    pub(crate) fn new(token: String, cookie: String, secure: bool) -> Self {
        Self {
            token,
            cookie,
            secure,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A new session if `given` is the node's token.
    pub(crate) fn sign_in(&self, given: &str) -> Result<Session, SignInError> {
        if self.token.is_empty() {
            return Err(SignInError::NoToken);
        }
        if !same_secret(given.trim().as_bytes(), self.token.as_bytes()) {
            return Err(SignInError::WrongToken);
        }
        let now = Instant::now();
        let session = Session {
            id: random_hex(),
            csrf: random_hex(),
        };
        let mut entries = self.lock();
        entries.retain(|_, entry| entry.live(now));
        while entries.len() >= MAX_SESSIONS {
            let oldest = entries
                .iter()
                .min_by_key(|(_, entry)| entry.created)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => entries.remove(&id),
                None => break,
            };
        }
        entries.insert(
            session.id.clone(),
            Entry {
                csrf: session.csrf.clone(),
                created: now,
                seen: now,
            },
        );
        Ok(session)
    }

    /// The live session whose cookie `headers` carry, marked as used now.
    pub(crate) fn current(&self, headers: &HeaderMap) -> Option<Session> {
        let now = Instant::now();
        let mut entries = self.lock();
        for id in cookie_values(headers, &self.cookie) {
            let Some(entry) = entries.get_mut(id) else {
                continue;
            };
            if !entry.live(now) {
                entries.remove(id);
                continue;
            }
            entry.seen = now;
            return Some(Session {
                id: id.to_string(),
                csrf: entry.csrf.clone(),
            });
        }
        None
    }

    /// Ends `session`.
    pub(crate) fn sign_out(&self, session: &Session) {
        self.lock().remove(&session.id);
    }

    /// The `Set-Cookie` value that gives the browser `session`.
    pub(crate) fn set_cookie(&self, session: &Session) -> HeaderValue {
        self.cookie_header(&session.id, None)
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub(crate) fn clear_cookie(&self) -> HeaderValue {
        self.cookie_header("", Some(0))
    }

    fn cookie_header(&self, value: &str, max_age: Option<u64>) -> HeaderValue {
        let mut cookie = format!(
            "{}={value}; Path=/console; HttpOnly; SameSite=Strict",
            self.cookie
        );
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).expect("cookie names and hex ids are header-safe")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Every value of the cookie `name` in `headers` (a browser may send several).
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(move |pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// 32 random bytes in hex, from the thread's CSPRNG (seeded from the OS).
fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Compares two secrets without stopping at the first difference (nor telling their lengths
/// apart early).
pub(crate) fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = given.len() ^ expected.len();
    for (i, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(i).copied().unwrap_or(!byte));
    }
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new("s3cret".into(), cookie_name("member-a", 7301), false)
    }

    fn cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_token_signs_in() {
        let sessions = sessions();
        assert_eq!(
            sessions.sign_in("s3cre").unwrap_err(),
            SignInError::WrongToken
        );
        assert_eq!(
            sessions.sign_in("s3cret2").unwrap_err(),
            SignInError::WrongToken
        );
        assert!(sessions.sign_in(" s3cret\n").is_ok());
        let none = Sessions::new(String::new(), "c".into(), false);
        assert_eq!(none.sign_in("").unwrap_err(), SignInError::NoToken);
    }

    #[test]
    fn a_session_is_found_by_its_own_cookie_name_only() {
        let sessions = sessions();
        let session = sessions.sign_in("s3cret").unwrap();
        let mine = format!(
            "custodia_member_b_7302=x; custodia_member_a_7301={}",
            session.id
        );
        assert_eq!(sessions.current(&cookie(&mine)).unwrap().csrf, session.csrf);
        let other = format!("custodia_member_b_7302={}", session.id);
        assert!(sessions.current(&cookie(&other)).is_none());
        sessions.sign_out(&session);
        assert!(sessions.current(&cookie(&mine)).is_none());
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        let plain = sessions().set_cookie(&Session {
            id: "ab".into(),
            csrf: "cd".into(),
        });
        assert_eq!(
            plain.to_str().unwrap(),
            "custodia_member_a_7301=ab; Path=/console; HttpOnly; SameSite=Strict"
        );
        let tls = Sessions::new("t".into(), "c".into(), true).clear_cookie();
        assert!(tls.to_str().unwrap().ends_with("Max-Age=0; Secure"));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
        assert!(!same_secret(b"abcd", b"abc"));
        assert!(!same_secret(b"", b"abc"));
    }
}
