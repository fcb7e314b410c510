/*
 * output.c
 *		Output files of ai-guard's commands: written under a temporary name
 *		beside the target and renamed only when complete, so that a failed
 *		command never leaves a file that looks finished. Without a path,
 *		standard output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

bool
out_open(out_file *o, const char *path)
{
	int			fd;

	memset(o, 0, sizeof(*o));
	if (path == NULL || strcmp(path, "-") == 0)
	{
		o->f = stdout;
		return true;
	}
	o->path = strdup(path);
	o->tmp = malloc(strlen(path) + 32);
	if (o->path == NULL || o->tmp == NULL)
	{
		pg_log_error("out of memory");
		exit(EXIT_FAILED);
	}
	sprintf(o->tmp, "%s.partial-XXXXXX", path);
	fd = mkstemp(o->tmp);
	if (fd < 0 || (o->f = fdopen(fd, "w")) == NULL)
	{
		pg_log_error("could not create file \"%s\": %s", o->tmp, strerror(errno));
		if (fd >= 0)
		{
			close(fd);
			unlink(o->tmp);
		}
		free(o->path);
		free(o->tmp);
		memset(o, 0, sizeof(*o));
		return false;
	}
	return true;
}

bool
out_close(out_file *o)
{
	bool		ok = true;

	if (o->path == NULL)
	{
		if (fflush(stdout) != 0)
		{
			pg_log_error("could not write to standard output: %s", strerror(errno));
			ok = false;
		}
		return ok;
	}
	if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)
		ok = false;
	if (fclose(o->f) != 0)
		ok = false;
	if (!ok)
		pg_log_error("could not write file \"%s\": %s", o->tmp, strerror(errno));
	else if (rename(o->tmp, o->path) != 0)
	{
		pg_log_error("could not rename \"%s\" to \"%s\": %s", o->tmp, o->path, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(o->tmp);
	free(o->path);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
	return ok;
}

void
out_abort(out_file *o)
{
	if (o->path == NULL)
		return;
	fclose(o->f);
	unlink(o->tmp);
	free(o->path);
	free(o->tmp);
	memset(o, 0, sizeof(*o));
}
