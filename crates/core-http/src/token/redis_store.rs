//! [`TokenStore`] on Redis, for fleets: one value per key (access token, expiry and refresh
//! token together, so a rotation is atomic), a `SET NX PX` lock with a fencing value, and Lua
//! scripts for compare-and-set, compare-and-invalidate and compare-and-unlock.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;

use super::store::{lock_left_to_expire, store_error};
use super::{BoxFuture, Fence, Locked, StoredToken, TokenKey, TokenStore};
use crate::{Error, Secret};

const SAVE: &str = r#"
local cur = redis.call('GET', KEYS[1])
local r = ''
if cur then
  local ok, t = pcall(cjson.decode, cur)
  if ok and type(t) == 'table' and type(t['r']) == 'string' then r = t['r'] end
end
if r == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"#;

const INVALIDATE: &str = r#"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, t = pcall(cjson.decode, cur)
if ok and type(t) == 'table' and t['a'] == ARGV[1] then
  t['a'] = nil
  redis.call('SET', KEYS[1], cjson.encode(t))
  return 1
end
return 0
"#;

const PUT_IF_NEWER: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, t = pcall(cjson.decode, cur)
  if ok and type(t) == 'table' and type(t['i']) == 'number' and t['i'] >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"#;

const UNLOCK: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// Tokens in Redis, shared by every process of a fleet.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisStore")
    }
}

fn redis_error(e: redis::RedisError) -> Error {
    store_error(format!("redis: {e}"))
}

fn lock_key(key: &TokenKey) -> String {
    format!("{key}:lock")
}

impl RedisStore {
    /// Connects to `url` (`redis://127.0.0.1:6379/`); reconnects on its own afterwards.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(redis_error)?;
        let conn = ConnectionManager::new(client).await.map_err(redis_error)?;
        Ok(RedisStore { conn })
    }
}

/// The value stored under `key`, as `GET` returned it.
fn decode(key: &TokenKey, raw: Option<String>) -> Result<Option<StoredToken>, Error> {
    raw.map(|text| {
        serde_json::from_str(&text)
            .map_err(|e| store_error(format!("corrupt value under {key}: {e}")))
    })
    .transpose()
}

impl TokenStore for RedisStore {
    fn load<'a>(&'a self, key: &'a TokenKey) -> BoxFuture<'a, Result<Option<StoredToken>, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let raw: Option<String> = redis::cmd("GET")
                .arg(key.as_str())
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            decode(key, raw)
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
        expected_refresh: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let value = serde_json::to_string(token).map_err(store_error)?;
            let saved: i64 = Script::new(SAVE)
                .key(key.as_str())
                .arg(value)
                .arg(expected_refresh.map_or("", Secret::expose))
                .invoke_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(saved == 1)
        })
    }

    fn lock<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Fence>, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let fence = Fence::random();
            let ok: Option<String> = redis::cmd("SET")
                .arg(lock_key(key))
                .arg(&fence.0)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(ok.map(|_| fence))
        })
    }

    fn lock_then_load<'a>(
        &'a self,
        key: &'a TokenKey,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Locked>, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let fence = Fence::random();
            // One round trip: the lock, then the value (read after the lock is set).
            let (taken, raw): (Option<String>, Option<String>) = redis::pipe()
                .cmd("SET")
                .arg(lock_key(key))
                .arg(&fence.0)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .cmd("GET")
                .arg(key.as_str())
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            if taken.is_none() {
                return Ok(None);
            }
            match decode(key, raw) {
                Ok(stored) => Ok(Some((fence, stored))),
                Err(e) => {
                    if let Err(e) = self.unlock(key, &fence).await {
                        lock_left_to_expire(key, &e);
                    }
                    Err(e)
                }
            }
        })
    }

    fn unlock<'a>(
        &'a self,
        key: &'a TokenKey,
        fence: &'a Fence,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: i64 = Script::new(UNLOCK)
                .key(lock_key(key))
                .arg(&fence.0)
                .invoke_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(())
        })
    }

    fn invalidate<'a>(
        &'a self,
        key: &'a TokenKey,
        failed: &'a Secret,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: i64 = Script::new(INVALIDATE)
                .key(key.as_str())
                .arg(failed.expose())
                .invoke_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(())
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let value = serde_json::to_string(token).map_err(store_error)?;
            let _: () = redis::cmd("SET")
                .arg(key.as_str())
                .arg(value)
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(())
        })
    }

    fn put_if_newer<'a>(
        &'a self,
        key: &'a TokenKey,
        token: &'a StoredToken,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let value = serde_json::to_string(token).map_err(store_error)?;
            let stored: i64 = Script::new(PUT_IF_NEWER)
                .key(key.as_str())
                .arg(value)
                .arg(token.issued_at_ms)
                .invoke_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(stored == 1)
        })
    }

    fn keys_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<TokenKey>, Error>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            // SCAN, not KEYS: the server keeps answering others while a large fleet is listed.
            let pattern = format!("{}*", redis_glob_escape(prefix));
            let mut cursor: u64 = 0;
            let mut keys = Vec::new();
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                keys.extend(batch.into_iter().map(TokenKey::from_raw));
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })
    }
}

/// `text` with Redis glob characters escaped, for a `MATCH` pattern.
fn redis_glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
