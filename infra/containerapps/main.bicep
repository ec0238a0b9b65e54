// Deploys the Sluice silo image to Azure Container Apps: a Log Analytics workspace, a storage account (Orleans Azure
// Table clustering in a table, checkpoints in a blob container), a user-assigned managed identity, a Container Apps
// environment and one container app whose replicas are the silos. Deploy into an existing resource group:
//   az deployment group create -g <rg> -f infra/containerapps/main.bicep -p image=<registry>/sluice-silo:<tag>
// infra/README.md walks through building the image and every parameter.

targetScope = 'resourceGroup'

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Prefix of the resource names (lowercase letters, digits and hyphens).')
@minLength(3)
@maxLength(12)
param namePrefix string = 'sluice'

@description('Container image of the silo, built from infra/Dockerfile, e.g. myregistry.azurecr.io/sluice-silo:1.0.0.')
param image string

@description('Name of an Azure Container Registry in this resource group to pull the image from with the app\'s managed identity (AcrPull is assigned here). Empty: use registryServer, or a public image.')
param acrName string = ''

@description('Another registry server for a private image (e.g. ghcr.io), with registryUsername and registryPassword; ignored when acrName is set.')
param registryServer string = ''

@description('User name for registryServer.')
param registryUsername string = ''

@description('Password for registryServer.')
@secure()
param registryPassword string = ''

@description('How the silos reach storage: \'ConnectionString\' (account key in a Container Apps secret; needs only Contributor on the resource group) or \'ManagedIdentity\' (DefaultAzureCredential with the app\'s identity; this template assigns it Storage Table/Blob Data Contributor, which needs Owner or User Access Administrator).')
@allowed([
  'ConnectionString'
  'ManagedIdentity'
])
param storageAuth string = 'ConnectionString'

@description('Fewest silo replicas. Keep at least 1: a pipeline with no silo does not run.')
@minValue(1)
@maxValue(300)
param minReplicas int = 1

@description('Most silo replicas (each replica is one Orleans silo).')
@minValue(1)
@maxValue(300)
param maxReplicas int = 3

@description('vCPUs per replica; with memory it must be one of the combinations Container Apps allows (e.g. 1.0 / 2Gi).')
param cpu string = '1.0'

@description('Memory per replica, e.g. 2Gi.')
param memory string = '2Gi'

@description('Key the admin HTTP API requires in the X-Api-Key header (Sluice:ApiKey); required: outside Development the silo refuses to start without one.')
@secure()
@minLength(16)
param apiKey string

@description('Whether the HTTP API and dashboard (port 5080) are reachable from outside the Container Apps environment.')
param externalIngress bool = true

@description('Orleans silo-to-silo port (Sluice:SiloPort), mapped inside the environment only.')
param siloPort int = 11111

@description('Orleans client gateway port (Sluice:GatewayPort), mapped inside the environment only.')
param gatewayPort int = 30000

@description('Orleans cluster id (Sluice:ClusterId): replicas with the same id and storage form one cluster.')
param clusterId string = namePrefix

@description('Built-in job the silos run (Sluice:Job): demo, windowed-counts or fraud. Every replica runs the same one.')
param job string = 'demo'

@description('Source of the demo job (Sluice:Demo:Source): \'generator\' needs nothing else; \'kafka\' needs kafkaBootstrapServers (an embedded Kafka per replica would split the data).')
@allowed([
  'generator'
  'kafka'
])
param demoSource string = 'generator'

@description('Kafka bootstrap servers (Kafka:BootstrapServers) for the demo or the Kafka jobs; empty for none.')
param kafkaBootstrapServers string = ''

@description('OTLP collector for metrics and traces (Sluice:Telemetry:OtlpEndpoint), e.g. http://otel-collector:4317; empty for none.')
param otlpEndpoint string = ''

@description('OTLP protocol (Sluice:Telemetry:OtlpProtocol).')
@allowed([
  'grpc'
  'http/protobuf'
])
param otlpProtocol string = 'grpc'

@description('HTTP path of the liveness probe (and the startup probe) on port 5080.')
param livenessPath string = '/health/live'

@description('HTTP path of the readiness probe on port 5080; a replica that is not ready gets no ingress traffic.')
param readinessPath string = '/health/ready'

@description('Seconds between SIGTERM and SIGKILL when a replica is stopped. The silo moves its key groups and source partitions to the other replicas before it exits (1-5 s measured with local processes; .NET gives the host 30 s), so keep this above 30.')
@minValue(30)
@maxValue(600)
param terminationGracePeriodSeconds int = 60

@description('Further environment variables for the silo, as [{ name: \'...\', value: \'...\' }].')
param additionalEnv array = []

@description('Days Log Analytics keeps the silo logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var apiPort = 5080
var cleanPrefix = toLower(replace(namePrefix, '-', ''))
var storageAccountName = take('${cleanPrefix}${uniqueString(resourceGroup().id)}', 24)
var checkpointContainerName = 'checkpoints'
var clusteringTableName = 'OrleansSiloInstances'
var storageSecretName = 'storage-connection'
var registrySecretName = 'registry-password'
var apiKeySecretName = 'api-key'
var useAcr = !empty(acrName)
var usePrivateRegistry = !useAcr && !empty(registryServer)
var useManagedIdentityForStorage = storageAuth == 'ManagedIdentity'

// Built-in role definition ids.
var acrPullRole = '7f951dba-4ed5-4d5e-8b9e-0e7be1b1d3d8'
var storageTableDataContributorRole = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var storageBlobDataContributorRole = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${namePrefix}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${namePrefix}-silo-identity'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: storageAccountName
  location: location
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: !useManagedIdentityForStorage
    accessTier: 'Hot'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

resource checkpoints 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-01-01' = {
  parent: blobService
  name: checkpointContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-01-01' = {
  parent: storage
  name: 'default'
}

resource clusteringTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-01-01' = {
  parent: tableService
  name: clusteringTableName
}

resource tableDataRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useManagedIdentityForStorage) {
  name: guid(storage.id, identity.id, storageTableDataContributorRole)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource blobDataRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useManagedIdentityForStorage) {
  name: guid(storage.id, identity.id, storageBlobDataContributorRole)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource acr 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (useAcr) {
  name: useAcr ? acrName : 'unused'
}

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (useAcr) {
  name: guid(resourceGroup().id, acrName, identity.id, acrPullRole)
  scope: acr
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRole)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

var storageSecrets = useManagedIdentityForStorage
  ? []
  : [
      {
        name: storageSecretName
        value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${az.environment().suffixes.storage}'
      }
    ]

var registrySecrets = usePrivateRegistry
  ? [
      {
        name: registrySecretName
        value: registryPassword
      }
    ]
  : []

var apiKeySecrets = empty(apiKey)
  ? []
  : [
      {
        name: apiKeySecretName
        value: apiKey
      }
    ]

var registries = useAcr
  ? [
      {
        server: acr!.properties.loginServer
        identity: identity.id
      }
    ]
  : usePrivateRegistry
      ? [
          {
            server: registryServer
            username: registryUsername
            passwordSecretRef: registrySecretName
          }
        ]
      : []

// The settings the silo reads (src/Silo: section Sluice, Sluice:Clustering, Checkpoints, Sluice:Telemetry, Kafka).
var hostEnv = [
  {
    name: 'Sluice__ApiUrl'
    value: 'http://0.0.0.0:${apiPort}'
  }
  {
    name: 'Sluice__SiloPort'
    value: string(siloPort)
  }
  {
    name: 'Sluice__GatewayPort'
    value: string(gatewayPort)
  }
  {
    name: 'Sluice__ClusterId'
    value: clusterId
  }
  {
    name: 'Sluice__ServiceId'
    value: clusterId
  }
  {
    name: 'Sluice__Job'
    value: job
  }
  {
    name: 'Sluice__Demo__Source'
    value: demoSource
  }
  {
    name: 'Sluice__Clustering__Kind'
    value: 'AzureTable'
  }
  {
    name: 'Sluice__Clustering__TableName'
    value: clusteringTableName
  }
  {
    // Each replica advertises its own address in the environment, so the replicas form one cluster.
    name: 'Sluice__Clustering__AdvertisedIPAddress'
    value: 'auto'
  }
  {
    name: 'Checkpoints__Kind'
    value: 'AzureBlob'
  }
  {
    name: 'Checkpoints__AzureBlob__Container'
    value: checkpointContainerName
  }
  {
    // DefaultAzureCredential picks the user-assigned identity by its client id.
    name: 'AZURE_CLIENT_ID'
    value: identity.properties.clientId
  }
]

var storageEnv = useManagedIdentityForStorage
  ? [
      {
        name: 'Sluice__Clustering__ServiceUri'
        value: storage.properties.primaryEndpoints.table
      }
      {
        name: 'Checkpoints__AzureBlob__AccountUri'
        value: storage.properties.primaryEndpoints.blob
      }
    ]
  : [
      {
        name: 'Sluice__Clustering__ConnectionString'
        secretRef: storageSecretName
      }
      {
        name: 'Checkpoints__AzureBlob__ConnectionString'
        secretRef: storageSecretName
      }
    ]

var apiKeyEnv = empty(apiKey)
  ? []
  : [
      {
        name: 'Sluice__ApiKey'
        secretRef: apiKeySecretName
      }
    ]

var kafkaEnv = empty(kafkaBootstrapServers)
  ? []
  : [
      {
        name: 'Kafka__BootstrapServers'
        value: kafkaBootstrapServers
      }
    ]

var telemetryEnv = empty(otlpEndpoint)
  ? []
  : [
      {
        name: 'Sluice__Telemetry__OtlpEndpoint'
        value: otlpEndpoint
      }
      {
        name: 'Sluice__Telemetry__OtlpProtocol'
        value: otlpProtocol
      }
      {
        name: 'Sluice__Telemetry__ServiceName'
        value: '${namePrefix}-silo'
      }
    ]

resource silo 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-silo'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    managedEnvironmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: externalIngress
        targetPort: apiPort
        transport: 'http'
        allowInsecure: false
        // Silo-to-silo and client gateway ports, reachable only inside the environment.
        additionalPortMappings: [
          {
            external: false
            targetPort: siloPort
            exposedPort: siloPort
          }
          {
            external: false
            targetPort: gatewayPort
            exposedPort: gatewayPort
          }
        ]
      }
      secrets: concat(storageSecrets, registrySecrets, apiKeySecrets)
      registries: registries
    }
    template: {
      terminationGracePeriodSeconds: terminationGracePeriodSeconds
      containers: [
        {
          name: 'silo'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: concat(hostEnv, storageEnv, apiKeyEnv, kafkaEnv, telemetryEnv, additionalEnv)
          probes: [
            {
              // Joining the cluster and restoring the last checkpoint can take a while on a cold start.
              type: 'Startup'
              httpGet: {
                path: livenessPath
                port: apiPort
              }
              initialDelaySeconds: 5
              periodSeconds: 5
              timeoutSeconds: 3
              failureThreshold: 24
            }
            {
              type: 'Liveness'
              httpGet: {
                path: livenessPath
                port: apiPort
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: readinessPath
                port: apiPort
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
  dependsOn: [
    checkpoints
    clusteringTable
    tableDataRole
    blobDataRole
    acrPull
  ]
}

@description('Host name of the silo HTTP API and dashboard.')
output apiFqdn string = silo.properties.configuration.ingress.fqdn

@description('The Sluice dashboard.')
output dashboardUrl string = 'https://${silo.properties.configuration.ingress.fqdn}/'

@description('Storage account used for clustering and checkpoints.')
output storageAccount string = storage.name

@description('Blob container for checkpoints in that account.')
output checkpointContainer string = checkpointContainerName

@description('Client id of the silos\' managed identity.')
output identityClientId string = identity.properties.clientId
