export { redisConnection, reportRedisOutages, type RedisConnectionEvents } from './redis-connection.js';
