export { AppConfig, ConfigurationError, type EngineTransportName } from './app-config.js';
