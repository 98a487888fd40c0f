export { registerMetrics } from './metrics/prometheus';
export type { RegisterMetricsOptions } from './metrics/prometheus';
