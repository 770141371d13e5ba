// SPDX-License-Identifier: MIT
/* virtio-sensor completions: callbacks in hard IRQ context defer to work functions. */
#include "sensor.h"

void sensor_readings_done(struct virtqueue *vq)
{
	struct sensor_device *sdev = vq->vdev->priv;

	schedule_work(&sdev->readings.done_work);
}

void sensor_events_done(struct virtqueue *vq)
{
	struct sensor_device *sdev = vq->vdev->priv;

	schedule_work(&sdev->events.done_work);
}

static unsigned int sensor_reclaim(struct sensor_device *sdev, struct virtqueue *vq)
{
	struct sensor_sample *s;
	unsigned int len, n = 0;

	while ((s = virtqueue_get_buf(vq, &len)) != NULL) {
		list_add_tail(&s->list, &sdev->samples);
		n++;
	}
	return n;
}

/* The race: the drain runs with hard IRQs on while it holds readings.lock. */
void sensor_readings_work(struct work_struct *work)
{
	struct sensor_device *sdev = container_of(work, struct sensor_device, readings.done_work);

	spin_lock(&sdev->readings.lock);
	do {
		virtqueue_disable_cb(sdev->readings.vq);
		sdev->readings.completed += sensor_reclaim(sdev, sdev->readings.vq);
	} while (!virtqueue_enable_cb(sdev->readings.vq));
	spin_unlock(&sdev->readings.lock);
}

/* Already irqsave: not reported. */
void sensor_events_work(struct work_struct *work)
{
	struct sensor_device *sdev = container_of(work, struct sensor_device, events.done_work);
	unsigned long flags;

	spin_lock_irqsave(&sdev->events.lock, flags);
	do {
		virtqueue_disable_cb(sdev->events.vq);
		sdev->events.completed += sensor_reclaim(sdev, sdev->events.vq);
	} while (!virtqueue_enable_cb(sdev->events.vq));
	spin_unlock_irqrestore(&sdev->events.lock, flags);
}
