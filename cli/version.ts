import fs from 'node:fs';
import path from 'node:path';

/**
 * The package version, found from the compiled (dist/cli) and the source (cli/) location alike: the
 * nearest package.json named eksidp. `--version` and saved plans both print it.
 */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'eksidp' && pkg.version) return pkg.version;
    } catch { /* keep walking up */ }
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}

export const VERSION: string = packageVersion();
