// SPDX-License-Identifier: MIT
/* virtio-sensor probe: two queues, each with a callback and a work item bound through a helper. */
#include <linux/module.h>
#include <linux/virtio_config.h>
#include "sensor.h"

static void sensor_init_queue(struct sensor_queue *q, work_func_t fn)
{
	spin_lock_init(&q->lock);
	INIT_WORK(&q->done_work, fn);
}

static int sensor_probe(struct virtio_device *vdev)
{
	struct virtqueue_info vqs_info[] = {
		{ "readings", sensor_readings_done },
		{ "events", sensor_events_done },
	};
	struct sensor_device *sdev;
	struct virtqueue *vqs[2];
	int err;

	sdev = devm_kzalloc(&vdev->dev, sizeof(*sdev), GFP_KERNEL);
	if (!sdev)
		return -ENOMEM;
	vdev->priv = sdev;
	sdev->vdev = vdev;
	INIT_LIST_HEAD(&sdev->samples);

	sensor_init_queue(&sdev->readings, sensor_readings_work);
	sensor_init_queue(&sdev->events, sensor_events_work);

	err = virtio_find_vqs(vdev, 2, vqs, vqs_info, NULL);
	if (err)
		return err;
	sdev->readings.vq = vqs[0];
	sdev->events.vq = vqs[1];
	virtio_device_ready(vdev);
	return 0;
}

static const struct virtio_device_id id_table[] = {
	{ 0x4242, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver virtio_sensor_driver = {
	.driver.name = KBUILD_MODNAME,
	.id_table = id_table,
	.probe = sensor_probe,
};

module_virtio_driver(virtio_sensor_driver);
MODULE_LICENSE("Dual MIT/GPL");
