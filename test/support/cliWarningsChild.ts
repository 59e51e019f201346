import './warningWatch';
import { registerLocalStackCommands } from '../../dev/cli/localStackCommands';
import { runFromProcess } from '../../src/cli/main';

// The real entry point (as processEntry.ts), with every process warning reported (warningWatch.ts).
runFromProcess([registerLocalStackCommands]);
