// Entry point for conformance-self.test.ts (run in a child process so the failures stay contained).
import { backendConformance } from '../conformance.ts';
import { MUTANTS } from './mutants.ts';

for (const [name, make] of Object.entries(MUTANTS)) backendConformance(`mutant ${name}`, async () => make());
