//! The scale-out stock gate: every decision is one Lua script, so Redis applies it atomically
//! however many web processes ask at once.
//!
//! Keys per item (hash-tagged so one item's keys share a cluster slot):
//! `<prefix>{<item>}:rules` hash available/limit/starts/ends (-1 = none),
//! `<prefix>{<item>}:held` hash buyer → units, `<prefix>{<item>}:keys` hash "buyer:key" → units.
//! A sale's three keys expire a day after the sale ends (`KEEP_AFTER_END_MS`), so Redis does not
//! keep every sale ever run; a product's never expire.
//! A sale has a fourth, `<prefix>{<item>}:tally`: the script counts each decision in it
//! (`a` accepted, `u` units, `so` sold out, `ol` over the limit, and per second `u<sec>` units
//! and `r<sec>` units left), expiring with the others; a product's reserve passes no fourth key
//! and counts nothing. One field pair per second with a sale is at most 7,200 small fields for a
//! sale that sells every second of an hour. `<prefix>shed` counts shed purchases, shop-wide.

use redis::aio::ConnectionManager;
use redis::Script;
use shop_domain::activity::{Second, Tally, WINDOW_SECS};
use shop_domain::gate::{Decision, GateError, GateItem, GateRules, Holding, ReserveRequest, StockGate};
use shop_domain::Timestamp;
use std::sync::LazyLock;

/// The reserve decision (public so the drill can measure it alone with `redis-benchmark`).
pub const RESERVE_LUA: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {6} end
local k = ARGV[1] .. ':' .. ARGV[2]
if redis.call('HEXISTS', KEYS[3], k) == 1 then return {1} end
local r = redis.call('HMGET', KEYS[1], 'available', 'limit', 'starts', 'ends')
local available, limit, starts, ends = tonumber(r[1]), tonumber(r[2]), tonumber(r[3]), tonumber(r[4])
local qty, now = tonumber(ARGV[3]), tonumber(ARGV[4])
if starts >= 0 and now < starts then return {2, starts} end
if ends >= 0 and now >= ends then return {3} end
local ttl = redis.call('PTTL', KEYS[1])
local function count(field, n)
  if KEYS[4] then
    redis.call('HINCRBY', KEYS[4], field, n)
    if ttl > 0 then redis.call('PEXPIRE', KEYS[4], ttl) end
  end
end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if limit >= 0 and held + qty > limit then count('ol', 1) return {5, limit, held} end
if available < qty then count('so', 1) return {4} end
redis.call('HINCRBY', KEYS[1], 'available', -qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
redis.call('HSET', KEYS[3], k, qty)
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
if KEYS[4] then
  local sec = tostring(math.floor(now / 1000))
  count('a', 1)
  count('u', qty)
  count('u' .. sec, qty)
  redis.call('HSET', KEYS[4], 'r' .. sec, available - qty)
end
return {0, available - qty}
"#;

static RESERVE: LazyLock<Script> = LazyLock::new(|| Script::new(RESERVE_LUA));

static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local k = ARGV[1] .. ':' .. ARGV[2]
local q = tonumber(redis.call('HGET', KEYS[3], k) or '0')
if q <= 0 then return 0 end
redis.call('HSET', KEYS[3], k, 0)
redis.call('HINCRBY', KEYS[1], 'available', q)
redis.call('HINCRBY', KEYS[2], ARGV[1], -q)
return 1
"#,
    )
});

static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'available', ARGV[1], 'limit', ARGV[2], 'starts', ARGV[3], 'ends', ARGV[4])
redis.call('DEL', KEYS[2], KEYS[3])
for i = 6, #ARGV, 3 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 2])
  redis.call('HINCRBY', KEYS[3], ARGV[i] .. ':' .. ARGV[i + 1], ARGV[i + 2])
end
if tonumber(ARGV[5]) > 0 then
  for i = 1, 3 do redis.call('PEXPIREAT', KEYS[i], ARGV[5]) end
end
return 1
"#,
    )
});

static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local a = tonumber(redis.call('HGET', KEYS[1], 'available')) + tonumber(ARGV[1])
if a < 0 then a = 0 end
redis.call('HSET', KEYS[1], 'available', a, 'limit', ARGV[2], 'starts', ARGV[3], 'ends', ARGV[4])
for i = 1, 3 do
  if tonumber(ARGV[5]) > 0 then redis.call('PEXPIREAT', KEYS[i], ARGV[5]) else redis.call('PERSIST', KEYS[i]) end
end
return 1
"#,
    )
});

static ADJUST: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local now = tonumber(redis.call('HGET', KEYS[1], 'available'))
if now ~= tonumber(ARGV[1]) then return -1 end
local a = now + tonumber(ARGV[2])
if a < 0 then a = 0 end
redis.call('HSET', KEYS[1], 'available', a)
return a
"#,
    )
});

/// How long a sale's keys outlive its end.
const KEEP_AFTER_END_MS: i64 = 24 * 3600 * 1000;

#[derive(Clone)]
pub struct RedisGate {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisGate({})", self.prefix)
    }
}

fn unavailable(e: redis::RedisError) -> GateError {
    GateError::Unavailable(e.to_string())
}

impl RedisGate {
    /// Connects (and reconnects on its own later). `prefix` separates shops sharing a Redis.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisGate, GateError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let conn = ConnectionManager::new(client).await.map_err(unavailable)?;
        Ok(RedisGate { conn, prefix: prefix.to_string() })
    }

    /// When an item's keys may go: a sale's a day after it ends (late cancellations can still
    /// give units back until then; afterwards nobody can buy, and a reload from the database
    /// answers "ended"). `-1`: never (products, and sales that ended over a day ago, which
    /// would otherwise vanish as they are installed).
    fn expire_at(rules: &GateRules) -> i64 {
        let Some(w) = rules.window else { return -1 };
        let at = w.ends_at.millis() + KEEP_AFTER_END_MS;
        if at > Timestamp::now().millis() {
            at
        } else {
            -1
        }
    }

    fn keys(&self, item: GateItem) -> [String; 3] {
        let base = format!("{}{{{item}}}", self.prefix);
        [format!("{base}:rules"), format!("{base}:held"), format!("{base}:keys")]
    }

    fn tally_key(&self, sale_id: i64) -> String {
        format!("{}{{{}}}:tally", self.prefix, GateItem::Sale(sale_id))
    }

    async fn install(
        &self,
        item: GateItem,
        rules: GateRules,
        holdings: &[Holding],
    ) -> Result<bool, GateError> {
        let [r, h, k] = self.keys(item);
        let (starts, ends) = rules.window.map_or((-1, -1), |w| (w.starts_at.millis(), w.ends_at.millis()));
        let installed: i64 = LOAD
            .key(r)
            .key(h)
            .key(k)
            .arg(rules.available)
            .arg(rules.per_buyer_limit.unwrap_or(-1))
            .arg(starts)
            .arg(ends)
            .arg(Self::expire_at(&rules))
            .arg(
                holdings
                    .iter()
                    .flat_map(|h| [h.buyer.to_string(), h.key.clone(), h.units.to_string()])
                    .collect::<Vec<String>>(),
            )
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(installed == 1)
    }
}

#[async_trait::async_trait]
impl StockGate for RedisGate {
    async fn load(&self, item: GateItem, rules: GateRules, holdings: &[Holding]) -> Result<bool, GateError> {
        self.install(item, rules, holdings).await
    }

    async fn update(&self, item: GateItem, rules: GateRules, delta: i64) -> Result<bool, GateError> {
        let [r, h, k] = self.keys(item);
        let (starts, ends) = rules.window.map_or((-1, -1), |w| (w.starts_at.millis(), w.ends_at.millis()));
        let updated: i64 = UPDATE
            .key(r)
            .key(h)
            .key(k)
            .arg(delta)
            .arg(rules.per_buyer_limit.unwrap_or(-1))
            .arg(starts)
            .arg(ends)
            .arg(Self::expire_at(&rules))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(updated == 1)
    }

    async fn reserve(&self, req: &ReserveRequest) -> Result<Decision, GateError> {
        if req.quantity == 0 {
            return Err(GateError::ZeroQuantity);
        }
        let [r, h, k] = self.keys(req.item);
        let mut call = RESERVE.key(r);
        call.key(h).key(k);
        if let GateItem::Sale(id) = req.item {
            call.key(self.tally_key(id));
        }
        let out: Vec<i64> = call
            .arg(req.buyer)
            .arg(&req.idempotency_key)
            .arg(req.quantity)
            .arg(req.now.millis())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let at = |i: usize| out.get(i).copied().unwrap_or(0);
        Ok(match at(0) {
            0 => Decision::Reserved { remaining: at(1) },
            1 => Decision::Duplicate,
            2 => Decision::NotStarted { starts_at: Timestamp::from_millis(at(1)) },
            3 => Decision::Ended,
            4 => Decision::SoldOut,
            5 => Decision::OverLimit { limit: at(1), held: at(2) },
            _ => Decision::Unknown,
        })
    }

    async fn adjust(&self, item: GateItem, seen: i64, delta: i64) -> Result<Option<i64>, GateError> {
        let [r, _, _] = self.keys(item);
        let left: i64 = ADJUST
            .key(r)
            .arg(seen)
            .arg(delta)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok((left >= 0).then_some(left))
    }

    async fn release(&self, item: GateItem, buyer: i64, idempotency_key: &str) -> Result<bool, GateError> {
        let [r, h, k] = self.keys(item);
        let released: i64 = RELEASE
            .key(r)
            .key(h)
            .key(k)
            .arg(buyer)
            .arg(idempotency_key)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(released == 1)
    }

    async fn available(&self, item: GateItem) -> Result<Option<i64>, GateError> {
        let [r, _, _] = self.keys(item);
        let v: Option<i64> = redis::cmd("HGET")
            .arg(r)
            .arg("available")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(v)
    }

    async fn tally(&self, sale_id: i64, now: Timestamp) -> Result<Tally, GateError> {
        let to = now.millis().div_euclid(1000);
        let seconds: Vec<i64> = (to - WINDOW_SECS + 1..=to).collect();
        let mut fields: Vec<String> = ["a", "u", "so", "ol"].map(String::from).to_vec();
        fields.extend(seconds.iter().map(|s| format!("u{s}")));
        fields.extend(seconds.iter().map(|s| format!("r{s}")));
        let (values, shed): (Vec<Option<i64>>, Option<i64>) = redis::pipe()
            .cmd("HMGET")
            .arg(self.tally_key(sale_id))
            .arg(&fields)
            .cmd("GET")
            .arg(format!("{}shed", self.prefix))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let at = |i: usize| values.get(i).copied().flatten();
        let n = seconds.len();
        Ok(Tally {
            accepted: at(0).unwrap_or(0),
            units: at(1).unwrap_or(0),
            sold_out: at(2).unwrap_or(0),
            over_limit: at(3).unwrap_or(0),
            shed: shed.unwrap_or(0),
            seconds: seconds
                .iter()
                .enumerate()
                .filter_map(|(i, &sec)| {
                    Some(Second { at: sec, units: at(4 + i)?, remaining: at(4 + n + i).unwrap_or(0) })
                })
                .collect(),
        })
    }

    async fn add_shed(&self, n: i64) -> Result<(), GateError> {
        let _: i64 = redis::cmd("INCRBY")
            .arg(format!("{}shed", self.prefix))
            .arg(n)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
