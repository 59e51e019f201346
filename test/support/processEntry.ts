import { registerLocalStackCommands } from '../../dev/cli/localStackCommands';
import { runFromProcess } from '../../src/cli/main';

// What bin/gallery-export.js does with the compiled code, run on the sources (through tsChild.js).
runFromProcess([registerLocalStackCommands]);
