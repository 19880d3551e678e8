// The `rekey` command (bin/rekey.mjs): the program of src/cli/program.ts on this process's arguments.
import { runCli } from './program.ts';

const status = await runCli(process.argv);
if (status !== 0) process.exit(status);
