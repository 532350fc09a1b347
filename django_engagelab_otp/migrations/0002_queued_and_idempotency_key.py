# Background and bulk sends: the queued status, and the key that makes a send happen at most once.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('django_engagelab_otp', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='messagelog',
            name='idempotency_key',
            field=models.CharField(blank=True, editable=False, max_length=200, null=True, unique=True, verbose_name='idempotency key'),
        ),
        migrations.AlterField(
            model_name='messagelog',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('pending', 'Pending'), ('accepted', 'Accepted'), ('failed', 'Failed'), ('unknown', 'Unknown'), ('plan', 'Planned'), ('target_valid', 'Recipient valid'), ('target_invalid', 'Recipient invalid'), ('sent', 'Sent'), ('sent_failed', 'Sending failed'), ('delivered', 'Delivered'), ('delivered_failed', 'Delivery failed'), ('verified', 'Verified'), ('verified_failed', 'Verification failed'), ('verified_timeout', 'Verification timed out')], default='pending', max_length=20, verbose_name='status'),
        ),
        migrations.AddIndex(
            model_name='messagelog',
            index=models.Index(condition=models.Q(('idempotency_key__isnull', False)), fields=['idempotency_key'], name='engagelab_log_key_prefix', opclasses=['varchar_pattern_ops']),
        ),
    ]
