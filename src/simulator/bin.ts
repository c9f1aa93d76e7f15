/** Direct entry for `node dist/src/simulator/bin.js …` / `tsx src/simulator/bin.ts …` until the main CLI wires `simulate`. */
import { runSimulateCommand } from './cli.js';

process.exitCode = await runSimulateCommand(process.argv.slice(2));
