/**
 * Crash-safe file replacement: a reader sees the old file or the complete new one, never a
 * part. The bytes go to a temporary file in the same directory (same file system, so the
 * rename is atomic), are flushed to disk, renamed over the final name, and the directory entry
 * is flushed too (POSIX: without it a power loss can forget the rename).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ioError } from './safetensors';

/** The prefix of temporary files; `<prefix><pid>-<n>-<final name>`. */
export const TEMP_PREFIX = '.tmp-';
let counter = 0;

/** Flushes a directory's entries (a no-op where directories cannot be opened, e.g. Windows). */
function fsyncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EISDIR' && (e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `finalPath` through `write(fd, tempPath)` atomically; the temporary file is removed on failure. */
export function writeAtomic(op: string, finalPath: string, write: (fd: number, tempPath: string) => void): void {
  const dir = path.dirname(finalPath);
  const temp = path.join(dir, `${TEMP_PREFIX}${process.pid}-${counter++}-${path.basename(finalPath)}`);
  let fd: number | undefined;
  try {
    try {
      fd = fs.openSync(temp, 'wx');
    } catch (e) {
      throw ioError(op, temp, e);
    }
    write(fd, temp);
    try {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(temp, finalPath);
      fsyncDirectory(dir);
    } catch (e) {
      throw ioError(op, finalPath, e);
    }
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw e;
  }
}

/**
 * Removes temporary files in `dir` left by processes that died while writing (their pid is no
 * longer running); files of live processes, this one's included, are left alone.
 */
export function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = /^\.tmp-(\d+)-/.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) fs.rmSync(path.join(dir, name), { force: true });
  }
}
