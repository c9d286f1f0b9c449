/* A storm of dma-buf export/release pairs for the event tests and bench, run as root
 * in the test VM (vgem loaded):
 *     storm SECONDS RATE      -> {"pid": P, "pairs": N, "seconds": S} on stdout
 * Each pair: a vgem dumb buffer, exported as a dma-buf (PRIME_HANDLE_TO_FD), its GEM
 * handle closed, its fd closed: the buffer's export and its release. At most RATE
 * pairs a second (checked every 100 pairs). Built by tests/support/vm/storm.py. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct create_dumb { uint32_t height, width, bpp, flags, handle, pitch; uint64_t size; };
struct prime_handle { uint32_t handle, flags; int32_t fd; };
struct gem_close { uint32_t handle, pad; };
struct drm_version {
	int major, minor, patch;
	size_t name_len; char *name; size_t date_len; char *date; size_t desc_len; char *desc;
};

#define MODE_CREATE_DUMB 0xc02064b2UL
#define PRIME_HANDLE_TO_FD 0xc00c642dUL
#define GEM_CLOSE 0x40086409UL
#define DRM_VERSION 0xc0406400UL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_vgem(void)
{
	char path[32], name[16];

	for (int i = 0; i < 16; i++) {
		struct drm_version v = { .name_len = sizeof(name) - 1, .name = name };
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(name, 0, sizeof(name));
		if (ioctl(fd, DRM_VERSION, &v) == 0 && strcmp(name, "vgem") == 0)
			return fd;
		close(fd);
	}
	return -1;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10, rate = argc > 2 ? atof(argv[2]) : 10000;
	int card = open_vgem();
	long pairs = 0;
	double start, end, t;

	if (card < 0) {
		fprintf(stderr, "storm: no vgem card\n");
		return 1;
	}
	start = now();
	end = start + seconds;
	for (t = start; t < end; t = now()) {
		struct create_dumb c = { .height = 4, .width = 1024, .bpp = 8 };
		struct prime_handle p = { .flags = O_CLOEXEC | O_RDWR, .fd = -1 };
		struct gem_close g = { 0 };

		if (ioctl(card, MODE_CREATE_DUMB, &c) || (p.handle = c.handle,
		    ioctl(card, PRIME_HANDLE_TO_FD, &p))) {
			perror("storm: vgem");
			return 1;
		}
		g.handle = c.handle;
		ioctl(card, GEM_CLOSE, &g);
		close(p.fd);
		if (++pairs % 100 == 0) {
			double ahead = start + pairs / rate - now();

			if (ahead > 0) {
				struct timespec ts = { (time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9) };

				nanosleep(&ts, NULL);
			}
		}
	}
	printf("{\"pid\": %d, \"pairs\": %ld, \"seconds\": %.3f}\n", getpid(), pairs, t - start);
	return 0;
}
