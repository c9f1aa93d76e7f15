/**
 * The simulator harness (src/simulator/harness.ts) under the names the end-to-end tests, the benchmarks and
 * the soak use: `fetchParams` is the harness's `instanceParams`.
 */
export {
  type Comparison,
  compareWithTruth,
  exercisedSummary,
  instanceParams as fetchParams,
  keyOf,
  notYetExercised,
} from '../../src/simulator/harness.js';
