// What a failed device reports, from published tables rather than invented codes:
// - software upgrades of NB-IoT devices run Huawei's PCP protocol; its result codes (the byte a
//   device answers with) and their meanings are the ones below;
// - firmware upgrades run LwM2M's Firmware Update object (5), whose Update Result resource (5/0/5)
//   has the values 2..9 below (OMA LwM2M technical specification).
// Which of these strings the platform copies into a push's `description` / `statusDesc` is not
// published: the emulator puts the table's meaning there (README, "what is not modelled").

export const softwareFailures = [
  { errorCode: '1', description: 'Device in use.' },
  { errorCode: '2', description: 'Poor signal quality.' },
  { errorCode: '4', description: 'Low battery.' },
  { errorCode: '5', description: 'Insufficient free space.' },
  { errorCode: '6', description: 'Download timed out.' },
  { errorCode: '7', description: 'Upgrade package verification failed.' },
  { errorCode: '8', description: 'Unsupported upgrade package type.' },
  { errorCode: '9', description: 'Insufficient memory.' },
  { errorCode: '10', description: 'Upgrade package installation failed.' },
  { errorCode: '127', description: 'Internal exception.' },
] as const;

export const firmwareFailures = [
  'Not enough flash memory for the new firmware package.',
  'Out of RAM during downloading process.',
  'Connection lost during downloading process.',
  'Integrity check failure for new downloaded package.',
  'Unsupported package type.',
  'Invalid URI.',
  'Firmware update failed.',
  'Unsupported protocol.',
] as const;
