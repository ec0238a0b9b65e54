// Deploys the Sluice silo image to Azure Container Apps: a Log Analytics workspace, a storage account
// (Orleans Azure Table clustering + a blob container for checkpoints), a Container Apps environment and one
// container app whose replicas are the silos. Deploy into an existing resource group:
//   az deployment group create -g <rg> -f infra/containerapps/main.bicep -p image=<registry>/sluice-silo:<tag>

targetScope = 'resourceGroup'

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Prefix of the resource names (lowercase letters, digits and hyphens).')
@minLength(3)
@maxLength(12)
param namePrefix string = 'sluice'

@description('Container image of the silo, built from infra/Dockerfile, e.g. myregistry.azurecr.io/sluice-silo:1.0.0.')
param image string

@description('Registry server for a private image (e.g. myregistry.azurecr.io); empty for a public image.')
param registryServer string = ''

@description('User name for registryServer.')
param registryUsername string = ''

@description('Password for registryServer.')
@secure()
param registryPassword string = ''

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

@description('Key the admin HTTP API requires in the X-Api-Key header (Sluice:ApiKey); empty leaves the API open.')
@secure()
param apiKey string = ''

@description('Whether the HTTP API (port 5080) is reachable from outside the Container Apps environment.')
param externalIngress bool = true

@description('Further environment variables for the silo, as [{ name: \'...\', value: \'...\' }].')
param additionalEnv array = []

@description('Days Log Analytics keeps the silo logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var cleanPrefix = toLower(replace(namePrefix, '-', ''))
var storageAccountName = take('${cleanPrefix}${uniqueString(resourceGroup().id)}', 24)
var checkpointContainerName = 'checkpoints'
var storageSecretName = 'storage-connection'
var registrySecretName = 'registry-password'
var apiKeySecretName = 'api-key'
var usePrivateRegistry = !empty(registryServer)

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
  }
}

var storageConnectionString = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${az.environment().suffixes.storage}'

var storageSecrets = [
  {
    name: storageSecretName
    value: storageConnectionString
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

var registries = usePrivateRegistry
  ? [
      {
        server: registryServer
        username: registryUsername
        passwordSecretRef: registrySecretName
      }
    ]
  : []

var siloEnv = [
  {
    name: 'Sluice__Clustering__Kind'
    value: 'AzureTable'
  }
  {
    name: 'Sluice__Clustering__ConnectionString'
    secretRef: storageSecretName
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
    name: 'Checkpoints__AzureBlob__ConnectionString'
    secretRef: storageSecretName
  }
  {
    name: 'Checkpoints__AzureBlob__Container'
    value: checkpointContainerName
  }
  {
    name: 'Sluice__ApiUrl'
    value: 'http://0.0.0.0:5080'
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

resource silo 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-silo'
  location: location
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: externalIngress
        targetPort: 5080
        transport: 'http'
        allowInsecure: false
        // Silo-to-silo (11111) and client gateway (30000) ports, reachable only inside the environment.
        additionalPortMappings: [
          {
            external: false
            targetPort: 11111
          }
          {
            external: false
            targetPort: 30000
          }
        ]
      }
      secrets: concat(storageSecrets, registrySecrets, apiKeySecrets)
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'silo'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: concat(siloEnv, apiKeyEnv, additionalEnv)
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
  ]
}

@description('Host name of the silo HTTP API.')
output apiFqdn string = silo.properties.configuration.ingress.fqdn

@description('Storage account used for clustering and checkpoints.')
output storageAccount string = storage.name

@description('Blob container for checkpoints in that account.')
output checkpointContainer string = checkpointContainerName
