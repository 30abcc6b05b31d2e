/* A static probe copied into the test images of tests/launch_confine.rs: it makes the system
 * calls Docker's default seccomp profile judges and prints one `name=result` line each
 * (`ok`, or the errno's name), so the test can tell the filter from the capabilities. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_DESCRIBE 6
#define KEY_SPEC_SESSION_KEYRING -3
#define KEY_SPEC_USER_KEYRING -4

static const char *name_of(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOKEY: return "ENOKEY";
    case EFAULT: return "EFAULT";
    default: return "other";
    }
}

static void report(const char *what, long r) {
    if (r < 0)
        printf("%s=%s\n", what, name_of(errno));
    else
        printf("%s=ok\n", what);
}

static int filter(void) {
    char buf[256];
    /* Blocked by the profile whatever the capabilities: the key management calls. */
    report("keyctl_user", syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_USER_KEYRING, buf,
                                  sizeof buf));
    /* A key nobody has: ENOKEY where allowed, changes nothing either way. */
    report("request_key", syscall(SYS_request_key, "user", "isotop-probe-none", NULL, 0));
    /* personality: only the listed values (0xffffffff queries). */
    report("personality_query", syscall(SYS_personality, 0xffffffffUL));
    report("personality_read_implies_exec", syscall(SYS_personality, READ_IMPLIES_EXEC));
    /* clone3 is ENOSYS (the C library falls back to clone); so are calls newer than the
     * profile, like fchmodat2 (452). */
    report("clone3", syscall(435, NULL, 0));
    report("fchmodat2", syscall(452, AT_FDCWD, "/tmp", 01777, 0));
    /* AF_VSOCK sockets, also with garbage in the argument's high bits. */
    report("vsock", syscall(SYS_socket, 40L, SOCK_STREAM, 0));
    report("vsock_high_bits", syscall(SYS_socket, (1L << 32) | 40L, SOCK_STREAM, 0));
    report("inet_socket", syscall(SYS_socket, 2L, SOCK_DGRAM, 0));
    /* clone: a plain fork is fine, a new user namespace (no capability needed) is not. */
    long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    report("clone_plain", pid);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    pid = syscall(SYS_clone, (unsigned long)(SIGCHLD | 0x10000000 /* CLONE_NEWUSER */), 0, 0,
                  0, 0);
    if (pid == 0)
        _exit(0);
    report("clone_newuser", pid);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    return 0;
}

/* The session keyring's id and description, and whether the user keyring can be read. */
static int keyring(void) {
    char desc[256];
    long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    if (id < 0) {
        printf("session=%s\n", name_of(errno));
        return 0;
    }
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof desc);
    if (n < 0)
        snprintf(desc, sizeof desc, "%s", name_of(errno));
    printf("session=%ld\nsession_desc=%s\n", id, desc);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "filter") == 0)
        return filter();
    if (argc > 1 && strcmp(argv[1], "keyring") == 0)
        return keyring();
    fprintf(stderr, "usage: probe filter|keyring\n");
    return 2;
}
