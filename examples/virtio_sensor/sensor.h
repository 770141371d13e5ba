/* SPDX-License-Identifier: MIT */
/*
 * virtio-sensor: a made-up virtio driver written for virtio-race-lint's example. Its shape is
 * the one the RFC found in fs/fuse/virtio_fs.c and drivers/gpu/drm/virtio: the vring callback
 * defers to a work item, and the work function drains the virtqueue under a plain spin_lock().
 */
#ifndef VIRTIO_SENSOR_H
#define VIRTIO_SENSOR_H

#include <linux/virtio.h>
#include <linux/workqueue.h>
#include <linux/spinlock.h>

struct sensor_queue {
	struct virtqueue *vq;
	spinlock_t lock;
	struct work_struct done_work;
	unsigned long completed;
};

struct sensor_device {
	struct virtio_device *vdev;
	struct sensor_queue readings;
	struct sensor_queue events;
	struct list_head samples;
};

struct sensor_sample {
	struct list_head list;
	u64 value;
};

void sensor_readings_done(struct virtqueue *vq);
void sensor_events_done(struct virtqueue *vq);
void sensor_readings_work(struct work_struct *work);
void sensor_events_work(struct work_struct *work);

#endif
