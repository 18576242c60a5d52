// Runs an example's main() when the file is executed directly (npm run example:*), not when a
// test imports it; prints its test accuracy.
import { pathToFileURL } from 'node:url';

export function runIfMainAsync(meta: ImportMeta, main: () => Promise<number>): void {
  if (process.argv[1] && pathToFileURL(process.argv[1]).href === meta.url) {
    main().then(
      (acc) => console.log(`test accuracy: ${acc.toFixed(4)}`),
      (err) => {
        console.error(err);
        process.exitCode = 1;
      },
    );
  }
}
