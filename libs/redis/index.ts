export { redisConnection, reportRedisOutages, type RedisConnectionEvents } from './redis-connection.js';
export { accountLogKeys, controlLogKeys, STREAM_LOG_APPEND_SCRIPT, STREAM_LOG_DEDUP_WINDOW_MS, streamLogIdentity, withStreamLogAppend, type StreamLogCommands } from './stream-log-append.js';
