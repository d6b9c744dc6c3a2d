export { AppConfig, ConfigurationError, type EngineTransportName, type WorkerIdentity } from './app-config.js';
