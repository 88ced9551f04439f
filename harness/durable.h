/* durable.h: the file-system steps that keep a results file whole: write to a
   temporary name, fsync, rename into place; move aside what must not be
   deleted; check the room a write needs; and one writer per output, by an
   exclusive lock on OUTPUT.lock held for the whole grid. */
#ifndef RNNBENCH_DURABLE_H
#define RNNBENCH_DURABLE_H

#include <stddef.h>

/* fsync a file (is_dir 0) or a directory (1); 0 or -1 */
int fsync_path(const char *path, int is_dir);
/* the directory part of path ("." when it has none) */
void dir_of(const char *path, char *out, size_t n);
/* fsync tmp, rename it to final, fsync the directory; on failure removes tmp
   and says why in err */
int commit_file(const char *tmp, const char *final, char *err, size_t n);
/* mkdir that accepts an existing directory */
int mkdir_if_missing(const char *dir);
/* 0 when the folder of path can take `need` more bytes (free space and the
   process's file-size limit), else -1 and a one-line reason */
int room_for(const char *path, unsigned long long need, const char *what, char *err, size_t n);
/* renames path to path.<suffix>-<UTC time>[-k], a name that does not exist
   yet; the new name in moved_to. 0 or -1 (errno set). */
int move_aside(const char *path, const char *suffix, char *moved_to, size_t n);

/* Takes the exclusive lock of output (flock on output.lock, never waiting).
   A lock left by a process that has died is free again (the kernel drops a
   flock with its holder), so it is simply taken over. When another live
   process holds it, returns -1 and names that process in err. The lock file
   records this process (pid, host, start time) for that message. */
int output_lock(const char *output, int *fd, char *err, size_t n);
/* releases it and removes the lock file */
void output_unlock(const char *output, int fd);

#endif
