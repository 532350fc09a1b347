# The schema of the history, as first released.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='MessageLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('message_id', models.CharField(blank=True, max_length=64, null=True, unique=True, verbose_name='message id')),
                ('kind', models.CharField(choices=[('otp', 'OTP (platform code)'), ('custom', 'Custom message'), ('code', 'Own code')], max_length=8, verbose_name='kind')),
                ('to', models.CharField(max_length=320, verbose_name='recipient')),
                ('recipients', models.JSONField(blank=True, default=list, help_text='Every recipient when one message went to several; empty otherwise.', verbose_name='all recipients')),
                ('template_id', models.CharField(max_length=128, verbose_name='template')),
                ('language', models.CharField(blank=True, max_length=16, verbose_name='language')),
                ('params', models.JSONField(blank=True, default=dict, help_text='Secrets are redacted.', verbose_name='parameters')),
                ('send_channel', models.CharField(blank=True, choices=[('sms', 'SMS'), ('whatsapp', 'WhatsApp'), ('email', 'E-mail'), ('voice', 'Voice')], max_length=16, verbose_name='channel')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('accepted', 'Accepted'), ('failed', 'Failed'), ('unknown', 'Unknown'), ('plan', 'Planned'), ('target_valid', 'Recipient valid'), ('target_invalid', 'Recipient invalid'), ('sent', 'Sent'), ('sent_failed', 'Sending failed'), ('delivered', 'Delivered'), ('delivered_failed', 'Delivery failed'), ('verified', 'Verified'), ('verified_failed', 'Verification failed'), ('verified_timeout', 'Verification timed out')], default='pending', max_length=20, verbose_name='status')),
                ('error_code', models.IntegerField(blank=True, null=True, verbose_name='error code')),
                ('error_message', models.TextField(blank=True, verbose_name='error message')),
                ('http_status', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='HTTP status')),
                ('cost', models.DecimalField(blank=True, decimal_places=6, max_digits=14, null=True, verbose_name='cost')),
                ('currency', models.CharField(blank=True, max_length=8, verbose_name='currency')),
                ('verify_attempts', models.PositiveIntegerField(default=0, verbose_name='verification attempts')),
                ('verified_at', models.DateTimeField(blank=True, null=True, verbose_name='verified at')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='created')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
            ],
            options={
                'verbose_name': 'message',
                'verbose_name_plural': 'messages',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['-created_at', '-id'], name='engagelab_log_created'), models.Index(fields=['status', '-created_at', '-id'], name='engagelab_log_status_time'), models.Index(fields=['send_channel', '-created_at', '-id'], name='engagelab_log_channel_time'), models.Index(fields=['kind', '-created_at', '-id'], name='engagelab_log_kind_time'), models.Index(fields=['template_id', '-created_at', '-id'], name='engagelab_log_template_time'), models.Index(fields=['to'], name='engagelab_log_to_prefix', opclasses=['varchar_pattern_ops']), models.Index(condition=models.Q(('status__in', ['delivered', 'delivered_failed', 'failed', 'sent_failed', 'target_invalid', 'verified', 'verified_failed', 'verified_timeout']), _negated=True), fields=['-created_at', '-id'], name='engagelab_log_open')],
            },
        ),
        migrations.CreateModel(
            name='MessageEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('message_status', 'Message status'), ('notification', 'Notification'), ('uplink', 'Reply (uplink)'), ('system_event', 'System event')], default='message_status', max_length=16, verbose_name='kind')),
                ('message_id', models.CharField(blank=True, db_index=True, max_length=64, verbose_name='message id')),
                ('event', models.CharField(max_length=40, verbose_name='event')),
                ('occurred_at', models.DateTimeField(verbose_name='occurred at')),
                ('channel', models.CharField(blank=True, max_length=16, verbose_name='channel')),
                ('error_code', models.IntegerField(blank=True, null=True, verbose_name='error code')),
                ('error_message', models.TextField(blank=True, verbose_name='error message')),
                ('cost', models.DecimalField(blank=True, decimal_places=6, max_digits=14, null=True, verbose_name='cost')),
                ('currency', models.CharField(blank=True, max_length=8, verbose_name='currency')),
                ('raw', models.JSONField(default=dict, verbose_name='raw row')),
                ('discriminator', models.CharField(blank=True, default='', editable=False, max_length=32, verbose_name='discriminator')),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='received')),
                ('log', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='django_engagelab_otp.messagelog', verbose_name='message')),
            ],
            options={
                'verbose_name': 'callback event',
                'verbose_name_plural': 'callback events',
                'ordering': ['occurred_at', 'id'],
                'indexes': [models.Index(fields=['log', 'occurred_at'], name='engagelab_event_log'), models.Index(fields=['-occurred_at', '-id'], name='engagelab_event_time'), models.Index(fields=['kind', '-occurred_at', '-id'], name='engagelab_event_kind_time')],
                'constraints': [models.UniqueConstraint(fields=('kind', 'message_id', 'event', 'occurred_at', 'discriminator'), name='engagelab_event_once')],
            },
        ),
    ]
