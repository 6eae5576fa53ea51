//! Stock gate implementations: in-memory (embedded default) and Redis + Lua (`REDIS_URL`).
//! Both are held to the same test suite (server/tests/gate.rs).

mod memory;
mod redis;

pub use self::redis::{RedisGate, RESERVE_LUA};
pub use memory::MemoryGate;
