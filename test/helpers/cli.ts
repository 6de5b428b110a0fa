import { run } from '../../lib/cli/main';

/** Runs `npx connectid …` in-process and captures what it prints. */
export async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await run(args, env), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
